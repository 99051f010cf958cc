import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { INTERSECTIONS_WGSL } from './intersections.wgsl.js';
import { RADIX_BLOCK, RADIX_BUCKETS, RADIX_THREADS, RADIX_UNIFORMS, RADIX_WGSL } from './radix.wgsl.js';

/** Per-thread digit counts packed two 16-bit fields per u32 (a block holds ≤ 1024 entries per digit). */
const PACKED_WORDS = RADIX_BUCKETS / 2;

/**
 * Radix-sort pass, step 2: stable scatter. Thread t holds entries t·4 … t·4+3 of its block, so entry order
 * is (thread, item); an entry's rank among equal digits in the block is the count in earlier threads (a
 * workgroup prefix sum of packed per-thread counts) plus earlier items of its own thread. Its position is
 * the scanned histogram offset of (digit, block) plus that rank. Writes the permuted `[capacity, 3]` list.
 */
export class RadixScatterProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_radix_scatter_${RADIX_BLOCK}`;
  variableNames = ['keys', 'offsets', 'digitOffsets'];
  workgroupSize: [number, number, number] = [RADIX_THREADS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = RADIX_UNIFORMS;

  constructor(capacity: number, numBlocks: number) {
    this.outputShape = [capacity, 3];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, numBlocks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${INTERSECTIONS_WGSL}
  ${RADIX_WGSL}
  const PACKED_WORDS = ${PACKED_WORDS};
  var<workgroup> packed : array<u32, ${RADIX_THREADS * PACKED_WORDS}>;

  fn main(index : i32) {
    let b = i32(linearWorkgroupIndex());
    let t = i32(localIndex);
    let stored = storedIntersections();
    let first = b * RADIX_BLOCK + t * RADIX_ITEMS;
    var digits = array<u32, RADIX_ITEMS>();
    var mine = array<u32, PACKED_WORDS>();
    for (var k = 0; k < RADIX_ITEMS; k++) {
      let d = digitOf(first + k, stored);
      digits[k] = d;
      if (d < RADIX_BUCKETS) { mine[d >> 1u] += 1u << ((d & 1u) * 16u); }
    }
    // inclusive Hillis–Steele scan of the packed counts over threads
    var acc = mine;
    for (var w = 0; w < PACKED_WORDS; w++) { packed[t * PACKED_WORDS + w] = acc[w]; }
    workgroupBarrier();
    for (var step = 1; step < ${RADIX_THREADS}; step = step << 1u) {
      // explicitly zeroed: some drivers keep a loop-local var's value across iterations
      var add = array<u32, PACKED_WORDS>();
      if (t >= step) {
        for (var w = 0; w < PACKED_WORDS; w++) { add[w] = packed[(t - step) * PACKED_WORDS + w]; }
      }
      workgroupBarrier();
      for (var w = 0; w < PACKED_WORDS; w++) {
        acc[w] += add[w];
        packed[t * PACKED_WORDS + w] = acc[w];
      }
      workgroupBarrier();
    }
    var seen = array<u32, PACKED_WORDS>();
    for (var k = 0; k < RADIX_ITEMS; k++) {
      let d = digits[k];
      if (d >= RADIX_BUCKETS) { continue; }
      let word = d >> 1u;
      let sh = (d & 1u) * 16u;
      let before = ((acc[word] - mine[word]) >> sh) & 0xffffu;
      let within = (seen[word] >> sh) & 0xffffu;
      seen[word] += 1u << sh;
      let pos = digitOffsets[i32(d) * uniforms.numBlocks + b] + i32(before + within);
      let src = KEY_WORDS * (first + k);
      result[KEY_WORDS * pos] = keys[src];
      result[KEY_WORDS * pos + 1] = keys[src + 1];
      result[KEY_WORDS * pos + 2] = keys[src + 2];
    }
  }
`;
  }
}
