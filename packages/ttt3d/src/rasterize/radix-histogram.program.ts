import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { INTERSECTIONS_WGSL } from './intersections.wgsl.js';
import { RADIX_BLOCK, RADIX_BUCKETS, RADIX_THREADS, RADIX_UNIFORMS, RADIX_WGSL } from './radix.wgsl.js';

/**
 * Radix-sort pass, step 1: per block of 1024 entries, how many have each 4-bit digit; written digit-major
 * (`result[d · numBlocks + b]`) so that one exclusive scan gives every (digit, block) its output offset.
 */
export class RadixHistogramProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_radix_histogram_${RADIX_BLOCK}`;
  variableNames = ['keys', 'offsets'];
  workgroupSize: [number, number, number] = [RADIX_THREADS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = RADIX_UNIFORMS;

  constructor(numBlocks: number) {
    this.outputShape = [RADIX_BUCKETS * numBlocks];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, numBlocks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${INTERSECTIONS_WGSL}
  ${RADIX_WGSL}
  var<workgroup> counts : array<atomic<u32>, ${RADIX_BUCKETS}>;

  fn main(index : i32) {
    let b = i32(linearWorkgroupIndex());
    if (localIndex < RADIX_BUCKETS) { atomicStore(&counts[localIndex], 0u); }
    workgroupBarrier();
    let stored = storedIntersections();
    for (var k = 0; k < RADIX_ITEMS; k++) {
      let d = digitOf(b * RADIX_BLOCK + k * ${RADIX_THREADS} + i32(localIndex), stored);
      if (d < RADIX_BUCKETS) { atomicAdd(&counts[d], 1u); }
    }
    workgroupBarrier();
    if (localIndex < RADIX_BUCKETS) {
      result[i32(localIndex) * uniforms.numBlocks + b] = i32(atomicLoad(&counts[localIndex]));
    }
  }
`;
  }
}
