import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import {
  RADIX_BLOCK,
  RADIX_BUCKETS,
  RADIX_THREADS,
  RADIX_UNIFORMS,
  type RadixSource,
  radixSourceVariables,
  radixWGSL,
} from './radix.wgsl.js';

/**
 * Radix-sort pass, step 1: per block of 1024 entries, how many have each 8-bit digit; written digit-major
 * (`result[d · numBlocks + b]`, zeros for blocks past the stored entries) so that one exclusive scan — or the
 * scatter itself (radix-scatter.program.ts) — gives every (digit, block) its output offset.
 */
export class RadixHistogramProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [RADIX_THREADS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = RADIX_UNIFORMS;
  private readonly source: RadixSource;

  constructor(source: RadixSource, numBlocks: number) {
    this.source = source;
    this.shaderKey = `tessera_gs_radix_histogram_${source}_${RADIX_BLOCK}_${RADIX_BUCKETS}`;
    this.variableNames = ['keys', ...radixSourceVariables(source)];
    this.outputShape = [RADIX_BUCKETS * numBlocks];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, numBlocks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${radixWGSL(this.source)}
  var<workgroup> counts : array<atomic<u32>, RADIX_BUCKETS>;

  fn main(index : i32) {
    let b = i32(linearWorkgroupIndex());
    let t = i32(localIndex);
    atomicStore(&counts[t], 0u);
    workgroupBarrier();
    let stored = storedEntries();
    for (var k = 0; k < RADIX_ITEMS; k++) {
      let e = b * RADIX_BLOCK + k * RADIX_THREADS + t;
      if (e < stored) { atomicAdd(&counts[digitOf(entryKey(e))], 1u); }
    }
    workgroupBarrier();
    result[t * uniforms.numBlocks + b] = i32(atomicLoad(&counts[t]));
  }
`;
  }
}
