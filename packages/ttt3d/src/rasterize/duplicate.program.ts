import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { KEY_WORDS, ORDER_WGSL } from './intersections.wgsl.js';
import { PRE_LAYOUT_WGSL } from './projection.wgsl.js';
import { RADIX_BLOCK, RADIX_BUCKETS, RADIX_ITEMS, RADIX_THREADS } from './radix.wgsl.js';

/**
 * Writes the intersection list in depth order (intersections.wgsl.ts): entry j belongs to the Gaussian of depth
 * rank r with order[r] ≤ j < order[r+1] (binary search), and is the (j − order[r])-th tile of its rectangle in
 * row-major order. Each workgroup covers one radix block of 1024 entries and also counts their tile ids' low
 * bytes, so the first tile-sort pass needs no histogram dispatch: writes `[capacity, 2]` (tile, Gaussian), then
 * the digit-major histogram `[256, blocks]` (radix-histogram.program.ts layout).
 */
export class DuplicateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_duplicate_${RADIX_BLOCK}`;
  variableNames = ['pre', 'order'];
  workgroupSize: [number, number, number] = [RADIX_THREADS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'n : i32, capacity : i32, tilesX : i32, numBlocks : i32,';

  constructor(capacity: number, numBlocks: number) {
    this.outputShape = [KEY_WORDS * capacity + RADIX_BUCKETS * numBlocks];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, numBlocks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${PRE_LAYOUT_WGSL}
  ${ORDER_WGSL}
  var<workgroup> counts : array<atomic<u32>, ${RADIX_BUCKETS}>;

  fn main(index : i32) {
    let b = i32(linearWorkgroupIndex());
    let t = i32(localIndex);
    atomicStore(&counts[t], 0u);
    workgroupBarrier();
    let stored = storedIntersections();
    for (var k = 0; k < ${RADIX_ITEMS}; k++) {
      let j = b * ${RADIX_BLOCK} + k * ${RADIX_THREADS} + t;
      if (j >= stored) { break; }
      var lo = 0;
      var hi = uniforms.n;
      while (hi - lo > 1) {
        let mid = (lo + hi) / 2;
        if (order[mid] <= j) { lo = mid; } else { hi = mid; }
      }
      let g = sortedGaussian(lo);
      let o = g * PRE_STRIDE;
      let x0 = i32(pre[o + PRE_RECT]);
      let y0 = i32(pre[o + PRE_RECT + 1]);
      let w = i32(pre[o + PRE_RECT + 2]) - x0;
      let i = j - order[lo];
      let tile = (y0 + i / w) * uniforms.tilesX + x0 + i % w;
      result[KEY_WORDS * j] = tile;
      result[KEY_WORDS * j + 1] = g;
      atomicAdd(&counts[tile & ${RADIX_BUCKETS - 1}], 1u);
    }
    workgroupBarrier();
    result[KEY_WORDS * uniforms.capacity + t * uniforms.numBlocks + b] = i32(atomicLoad(&counts[t]));
  }
`;
  }
}
