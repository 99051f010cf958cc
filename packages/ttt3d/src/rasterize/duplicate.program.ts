import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { INTERSECTIONS_WGSL } from './intersections.wgsl.js';
import { PRE_LAYOUT_WGSL } from './projection.wgsl.js';

const WORKGROUP = 256;

/**
 * Writes the unsorted intersection list `[capacity, 3]` (tile, depth bits, Gaussian): entry j belongs to the
 * Gaussian g with offsets[g] ≤ j < offsets[g+1] (binary search), and is the (j − offsets[g])-th tile of g's
 * rectangle in row-major order — so the list is ordered by Gaussian, then tile, as gsplat's is before sorting.
 */
export class DuplicateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_duplicate_${WORKGROUP}`;
  variableNames = ['pre', 'offsets'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'n : i32, capacity : i32, tilesX : i32,';

  constructor(capacity: number) {
    this.outputShape = [capacity, 3];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(capacity / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${PRE_LAYOUT_WGSL}
  ${INTERSECTIONS_WGSL}
  fn main(index : i32) {
    let j = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (j >= storedIntersections()) { return; }
    var lo = 0;
    var hi = uniforms.n;
    while (hi - lo > 1) {
      let mid = (lo + hi) / 2;
      if (offsets[mid] <= j) { lo = mid; } else { hi = mid; }
    }
    let g = lo;
    let o = g * PRE_STRIDE;
    let x0 = i32(pre[o + PRE_RECT]);
    let y0 = i32(pre[o + PRE_RECT + 1]);
    let w = i32(pre[o + PRE_RECT + 2]) - x0;
    let k = j - offsets[g];
    result[KEY_WORDS * j] = (y0 + k / w) * uniforms.tilesX + x0 + k % w;
    result[KEY_WORDS * j + 1] = bitcast<i32>(pre[o + PRE_DEPTH]);
    result[KEY_WORDS * j + 2] = g;
  }
`;
  }
}
