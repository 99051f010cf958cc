import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { KEY_WORDS } from './intersections.wgsl.js';
import {
  RADIX_BLOCK,
  RADIX_BUCKETS,
  RADIX_THREADS,
  RADIX_UNIFORMS,
  type RadixSource,
  radixSourceVariables,
  radixWGSL,
} from './radix.wgsl.js';

/** Per-thread nibble counts packed two 16-bit fields per u32 (a block holds ≤ 1024 entries per nibble). */
const PACKED_WORDS = 8;

/**
 * Where a block's digits start in the output:
 * - 'fused': `hist` is the raw digit-major histogram (radix-histogram.program.ts, at `histBase`); each workgroup
 *   sums what it needs itself — digit d's count in earlier blocks and every digit's total, over the blocks that hold
 *   entries — instead of a separate scan (2 dispatches). Costs 256 × (stored blocks) reads per workgroup, so the
 *   glue uses it only while the block count is small (radix-sort.ts `BINNING_LIMITS.fusedPrefixMaxBlocks`).
 * - 'scanned': `hist` is the histogram's exclusive scan (scan.ts), read directly.
 */
export type RadixPrefix = 'fused' | 'scanned';

/**
 * Radix-sort pass, step 2: a stable scatter by the 8-bit digit at `shift`. The workgroup first sorts its block of
 * 1024 entries locally and stably by that digit — two 4-bit split rounds, each ranking an entry by a workgroup
 * prefix sum of packed per-thread nibble counts plus earlier entries of its own thread — so entry order is the
 * block's (thread, item) order within each digit, and equal digits sit together. An entry's output position is
 * its digit's base for this block (`RadixPrefix`) plus its distance from the digit's first local position; the
 * writes of one digit are contiguous. Entries past the stored count carry digit 255 and stay last (stability), so
 * they are never written. Writes `[rows, 2]`; with `ranges` (a single pass over tile ids < 256, where the digit is
 * the tile) also each tile's first entry, `[tiles + 1]` after them (the last = the stored count), which the
 * compositing programs read instead of searching the list.
 */
export class RadixScatterProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [RADIX_THREADS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = RADIX_UNIFORMS;
  private readonly source: RadixSource;
  private readonly prefix: RadixPrefix;
  private readonly ranges: boolean;

  constructor(source: RadixSource, prefix: RadixPrefix, rows: number, numBlocks: number, rangeTiles?: number) {
    this.source = source;
    this.prefix = prefix;
    this.ranges = rangeTiles !== undefined;
    this.shaderKey = `tessera_gs_radix_scatter_${source}_${prefix}_${this.ranges}_${RADIX_BLOCK}_${RADIX_BUCKETS}`;
    this.variableNames = ['keys', 'hist', ...radixSourceVariables(source)];
    this.outputShape = [KEY_WORDS * rows + (rangeTiles === undefined ? 0 : rangeTiles + 1)];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, numBlocks));
  }

  private digitBaseWGSL(): string {
    if (this.prefix === 'scanned') return 'let base = hist[uniforms.histBase + t * uniforms.numBlocks + b];';
    return `
    let blocks = (stored + RADIX_BLOCK - 1) / RADIX_BLOCK;
    let row = uniforms.histBase + t * uniforms.numBlocks;
    var before = 0;
    var total = 0;
    for (var c = 0; c < blocks; c++) {
      let v = hist[row + c];
      before += select(0, v, c < b);
      total += v;
    }
    let base = workgroupExclusiveSum(total) + before;`;
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${radixWGSL(this.source)}
  const PACKED_WORDS = ${PACKED_WORDS};
  var<workgroup> packed : array<u32, ${RADIX_THREADS * PACKED_WORDS}>;
  var<workgroup> sKey : array<u32, RADIX_BLOCK>;
  var<workgroup> sValue : array<i32, RADIX_BLOCK>;
  var<workgroup> digitStart : array<i32, RADIX_BUCKETS>;
  var<workgroup> digitBase : array<i32, RADIX_BUCKETS>;
  var<workgroup> sums : array<i32, RADIX_THREADS>;
  var<workgroup> sStored : i32;
  var<workgroup> sSkip : i32;

  /** Exclusive prefix sum of v over the workgroup's threads (Hillis–Steele; call in uniform control flow). */
  fn workgroupExclusiveSum(v : i32) -> i32 {
    let t = i32(localIndex);
    var acc = v;
    sums[t] = acc;
    workgroupBarrier();
    for (var step = 1; step < RADIX_THREADS; step = step << 1u) {
      var add = 0;
      if (t >= step) { add = sums[t - step]; }
      workgroupBarrier();
      acc += add;
      sums[t] = acc;
      workgroupBarrier();
    }
    return acc - v;
  }

  /**
   * One stable split round: the items at local positions 4t … 4t+3, with their digits, go to their position in
   * the block ordered by the 4-bit nibble (digit >> nibbleShift) & 15, into sKey / sValue.
   */
  fn splitRound(keys4 : array<u32, RADIX_ITEMS>, values4 : array<i32, RADIX_ITEMS>, digits : array<i32, RADIX_ITEMS>,
                nibbleShift : u32) {
    let t = i32(localIndex);
    var nibbles = array<u32, RADIX_ITEMS>();
    var mine = array<u32, PACKED_WORDS>();
    for (var k = 0; k < RADIX_ITEMS; k++) {
      let v = (u32(digits[k]) >> nibbleShift) & 15u;
      nibbles[k] = v;
      mine[v >> 1u] += 1u << ((v & 1u) * 16u);
    }
    // inclusive Hillis–Steele scan of the packed counts over threads
    var acc = mine;
    for (var w = 0; w < PACKED_WORDS; w++) { packed[t * PACKED_WORDS + w] = acc[w]; }
    workgroupBarrier();
    for (var step = 1; step < RADIX_THREADS; step = step << 1u) {
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
    // the last thread's inclusive counts are the block's nibble totals
    var starts = array<u32, 16>();
    var run = 0u;
    for (var v = 0u; v < 16u; v++) {
      starts[v] = run;
      run += (packed[(RADIX_THREADS - 1) * PACKED_WORDS + i32(v >> 1u)] >> ((v & 1u) * 16u)) & 0xffffu;
    }
    var seen = array<u32, PACKED_WORDS>();
    for (var k = 0; k < RADIX_ITEMS; k++) {
      let v = nibbles[k];
      let word = v >> 1u;
      let sh = (v & 1u) * 16u;
      let before = ((acc[word] - mine[word]) >> sh) & 0xffffu;
      let within = (seen[word] >> sh) & 0xffffu;
      seen[word] += 1u << sh;
      let pos = i32(starts[v] + before + within);
      sKey[pos] = keys4[k];
      sValue[pos] = values4[k];
    }
  }

  fn main(index : i32) {
    let b = i32(linearWorkgroupIndex());
    let t = i32(localIndex);
    if (t == 0) {
      sStored = storedEntries();
      // block 0 always runs: it writes the tile ranges, also of an empty list
      sSkip = select(0, 1, b > 0 && b * RADIX_BLOCK >= sStored);
    }
    let stored = workgroupUniformLoad(&sStored);
    if (workgroupUniformLoad(&sSkip) != 0) { return; }
    let valid = clamp(stored - b * RADIX_BLOCK, 0, RADIX_BLOCK);

    var keys4 = array<u32, RADIX_ITEMS>();
    var values4 = array<i32, RADIX_ITEMS>();
    var digits = array<i32, RADIX_ITEMS>();
    for (var k = 0; k < RADIX_ITEMS; k++) {
      let p = t * RADIX_ITEMS + k;
      digits[k] = RADIX_BUCKETS - 1;
      if (p < valid) {
        let e = b * RADIX_BLOCK + p;
        keys4[k] = entryKey(e);
        values4[k] = entryValue(e);
        digits[k] = digitOf(keys4[k]);
      }
    }
    splitRound(keys4, values4, digits, 0u);
    workgroupBarrier();
    for (var k = 0; k < RADIX_ITEMS; k++) {
      let p = t * RADIX_ITEMS + k;
      keys4[k] = sKey[p];
      values4[k] = sValue[p];
      digits[k] = select(RADIX_BUCKETS - 1, digitOf(keys4[k]), p < valid);
    }
    // (splitRound's first barrier orders these reads before its writes to sKey)
    splitRound(keys4, values4, digits, 4u);
    workgroupBarrier();

    // each digit's first local position (digits the block lacks are never read)
    for (var p = t; p < valid; p += RADIX_THREADS) {
      let d = digitOf(sKey[p]);
      if (p == 0 || digitOf(sKey[p - 1]) != d) { digitStart[d] = p; }
    }
    ${this.digitBaseWGSL()}
    digitBase[t] = base;
    ${
      this.ranges
        ? `if (b == 0) {
      if (t < uniforms.tiles) { result[uniforms.rangesBase + t] = base; }
      if (t == 0) { result[uniforms.rangesBase + uniforms.tiles] = stored; }
    }`
        : ''
    }
    workgroupBarrier();
    for (var p = t; p < valid; p += RADIX_THREADS) {
      let key = sKey[p];
      let d = digitOf(key);
      let pos = digitBase[d] + p - digitStart[d];
      result[KEY_WORDS * pos] = bitcast<i32>(key);
      result[KEY_WORDS * pos + 1] = sValue[p];
    }
  }
`;
  }
}
