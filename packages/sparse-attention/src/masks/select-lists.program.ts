import type { WebGPUOutputsProgram } from '@tessera/tensor-core';
import { SELECT_MAX_COLS } from './select.program.js';

/**
 * Widths (Nk rounded up to a power of 2) of the variants that hold the row twice in workgroup memory, sorted and
 * in index order: 2 · 4 B · 1024 = 8 KiB, within WebGPU's default 16 KiB, which 2048 would fill before the
 * search's few words. Wider rows (to SELECT_MAX_COLS) keep only the sorted copy and read the row from global memory.
 */
const SHARED_WIDTHS = [256, 1024];
/**
 * Threads of a workgroup: half the variant's width (one compare-exchange each per sort step at full width), at most
 * 256. More would only wait at the sort's barriers; and an H100 SM (64 Ki registers) holds the 8 rows it gets at
 * R = 1024 at once with up to 64 registers a thread at 128 threads, but only 32 at 256.
 */
const MAX_THREADS = 256;
/**
 * Ranks whose mass one round of the top-p search tests, one thread each: one warp. With every row's workgroup
 * resident, a round's cost is the instructions its warps issue, not one pass's latency, so 32 candidates over two
 * rounds (2 warp-passes) cost a quarter of 256 over one (8).
 */
const CANDIDATES = 32;

/**
 * hybridMask's selection (top-k ∪ top-p, SelectAttrs with pThrough < 0) straight to the forward's lists, in one
 * program writing both: one workgroup per row of `scores [R = B·H·Nq, Nk]` writes kvIdx `[R, Nk]` (kept blocks
 * ascending, then −1) and kvNum `[R]`. The rule is SelectProgram's (`keepBlock`, select.wgsl.ts), reached without
 * its O(Nk²) ranking:
 * - Only positive blocks are kept, and blocks rank by (score desc, index asc). The mass before a block,
 *   M(r) = the float32 sum in index order of the scores ranked before it (rank r), is what keepBlock adds up,
 *   and it does not fall as r grows (rounding is monotone and the scores added are ≥ 0). So the kept set is
 *   the top T positives, T = the first r ≥ min(k, P) with M(r) ≥ pBefore, else P (P = positive blocks).
 * - The row's positive scores, as u32 bits (which order like the floats; 0 for blocks never kept), are
 *   bitonic-sorted descending in workgroup memory (log₂W·(log₂W + 1)/2 steps of W/2 compare-exchanges, W = Nk
 *   rounded up to a power of 2): the score of rank r is keys[r], and the blocks tied with it before it are
 *   r − (its first rank).
 * - T by a 32-way search over r: each round 32 threads (one warp) each compute one candidate's M(r) exactly as
 *   keepBlock does, one pass over the row in index order, 8 blocks an iteration; 2 rounds at Nk ≤ 1024, 3 at 4096.
 *   For W ≤ 1024 the pass reads a second copy of the row, in index order, from workgroup memory (vec4 loads that
 *   all 32 threads share); wider rows read it from global memory.
 * - Compaction: block i is kept when its score beats the T-th's, or ties it and is among the first T − (blocks
 *   above it) of the tie in index order; each thread tests a run of ⌈Nk/threads⌉ blocks, one prefix sum over the
 *   threads of (ties, wins) packed in a u32 gives each kept block its slot. kvNum is T.
 * Variants by W: ≤ 256 (128 threads, 2 KiB of workgroup memory), ≤ 1024 (256 threads, 8 KiB), ≤ 4096 (256 threads,
 * 16 KiB, the sorted row, and the search's 3 words: past WebGPU's default limit by those, within what tensor-core's
 * device asks for, the adapter's). The sorted row is reused for the prefix sum.
 */
export class SelectListsProgram implements WebGPUOutputsProgram {
  shaderKey: string;
  outputNames = ['kvIdx', 'kvNum'];
  variableNames = ['scores'];
  workgroupSize: number;
  workgroups: number;
  uniforms = 'lines : i32, cols : i32, width : i32, k : i32, pBefore : f32,';
  /** Entries of the workgroup arrays: the smallest variant's width ≥ W. */
  private readonly capacity: number;
  /** Whether the candidates' passes read the row from workgroup memory. */
  private readonly shared: boolean;

  /** `width`: W, Nk rounded up to a power of 2 (≤ SELECT_MAX_COLS). */
  constructor(rows: number, width: number) {
    this.workgroups = rows;
    this.capacity = SHARED_WIDTHS.find((w) => w >= width) ?? SELECT_MAX_COLS;
    this.shared = this.capacity <= (SHARED_WIDTHS.at(-1) as number);
    this.workgroupSize = Math.min(MAX_THREADS, this.capacity / 2);
    this.shaderKey = `tessera_block_select_lists_${this.workgroupSize}_${this.capacity}_${CANDIDATES}${this.shared ? '' : '_global'}`;
  }

  getUserCode(): string {
    const wg = this.workgroupSize;
    const cap = this.capacity;
    // a thread's run of blocks in the compaction, as bits of a u32
    const perThread = cap / wg;
    // the key of block i (< n), and blocks 4q … 4q + 3 (0 past the row, never kept nor tied)
    const rowKey = this.shared ? 'rowQuads[i >> 2u][i & 3]' : 'keyOf(scores[row + i])';
    const rowQuad = this.shared
      ? 'rowQuads[q]'
      : 'vec4<u32>(keyAt(row, 4 * q), keyAt(row, 4 * q + 1), keyAt(row, 4 * q + 2), keyAt(row, 4 * q + 3))';
    // one block of a candidate's pass, in index order: keepBlock's test and its float32 add
    const addBlock = (key: string) => `
      if (${key} > v || (${key} == v && ties < tiesBefore)) { mass += bitcast<f32>(${key}); }
      ties += select(0, 1, ${key} == v);`;
    const lanes = ['a.x', 'a.y', 'a.z', 'a.w', 'b.x', 'b.y', 'b.z', 'b.w'];
    return `
  var<workgroup> keys : array<u32, ${cap}>;
  ${this.shared ? `var<workgroup> rowQuads : array<vec4<u32>, ${cap / 4}>;` : ''}
  var<workgroup> found : atomic<i32>;
  var<workgroup> lineState : array<i32, 2>;

  // positive scores as their bits (ordered as the floats); 0 for blocks never kept (≤ 0, NaN)
  fn keyOf(x : f32) -> u32 { return select(0u, bitcast<u32>(x), x > 0.0); }

  // block j's key, 0 past the row (the load clamped into it)
  fn keyAt(row : i32, j : i32) -> u32 {
    let n = uniforms.cols;
    return select(0u, keyOf(scores[row + min(j, n - 1)]), j < n);
  }

  fn rowKey(row : i32, i : i32) -> u32 { return ${rowKey}; }

  fn rowQuad(row : i32, q : i32) -> vec4<u32> { return ${rowQuad}; }

  // the first rank holding key v (the blocks above v: keys sorted descending)
  fn firstRank(v : u32, r : i32) -> i32 {
    var lo = 0;
    var hi = r;
    while (lo < hi) {
      let mid = (lo + hi) >> 1u;
      if (keys[mid] > v) { lo = mid + 1; } else { hi = mid; }
    }
    return lo;
  }

  // M(r): keepBlock's mass before the block of rank r, summed in index order; two quads an iteration so
  // that the loads of the next blocks overlap the chain of adds
  fn massBefore(row : i32, r : i32) -> f32 {
    let v = keys[r];
    let tiesBefore = r - firstRank(v, r);
    let quads = 2 * ((uniforms.cols + 7) / 8);
    var ties = 0;
    var mass = 0.0;
    for (var q = 0; q < quads; q += 2) {
      let a = rowQuad(row, q);
      let b = rowQuad(row, q + 1);${lanes.map(addBlock).join('')}
    }
    return mass;
  }

  fn main(workgroup : i32, local : i32) {
    let line = workgroup;
    if (line >= uniforms.lines) { return; }
    let tid = local;
    let n = uniforms.cols;
    let w = uniforms.width;
    let row = line * n;

    for (var j = tid; j < w; j += ${wg}) { keys[j] = keyAt(row, j); }
    ${
      this.shared
        ? `// the row in index order, whole quads (massBefore reads them in pairs)
    for (var q = tid; q < 2 * ((n + 7) / 8); q += ${wg}) {
      rowQuads[q] = vec4<u32>(keyAt(row, 4 * q), keyAt(row, 4 * q + 1), keyAt(row, 4 * q + 2), keyAt(row, 4 * q + 3));
    }`
        : ''
    }
    workgroupBarrier();

    // bitonic sort, descending; pair p of a step compares i and i + stride, i = p with a 0 inserted at bit log₂stride
    for (var size = 2; size <= w; size <<= 1u) {
      for (var stride = size >> 1u; stride > 0; stride >>= 1u) {
        for (var p = tid; p < (w >> 1u); p += ${wg}) {
          let i = ((p & ~(stride - 1)) << 1u) | (p & (stride - 1));
          let a = keys[i];
          let b = keys[i + stride];
          if ((a < b) == ((i & size) == 0)) {
            keys[i] = b;
            keys[i + stride] = a;
          }
        }
        workgroupBarrier();
      }
    }

    // P, then T ∈ [min(k, P), P] by a ${CANDIDATES}-way search for the first r with M(r) ≥ pBefore
    if (tid == 0) {
      let positives = firstRank(0u, w);
      lineState[0] = min(uniforms.k, positives);
      lineState[1] = select(positives, lineState[0], uniforms.pBefore <= 0.0);
    }
    var lo = workgroupUniformLoad(&lineState[0]);
    var hi = workgroupUniformLoad(&lineState[1]);
    while (lo < hi) {
      let step = (hi - lo + ${CANDIDATES - 1}) / ${CANDIDATES};
      if (tid == 0) { atomicStore(&found, ${CANDIDATES}); }
      workgroupBarrier();
      let r = lo + tid * step;
      if (tid < ${CANDIDATES} && r < hi && massBefore(row, r) >= uniforms.pBefore) { atomicMin(&found, tid); }
      workgroupBarrier();
      if (tid == 0) { lineState[0] = atomicLoad(&found); }
      let f = workgroupUniformLoad(&lineState[0]);
      if (f == 0) {
        hi = lo;
      } else if (f < ${CANDIDATES}) {
        hi = lo + f * step;
        lo = lo + (f - 1) * step + 1;
      } else {
        lo = lo + ((hi - lo - 1) / step) * step + 1;
      }
    }
    let kept = lo;

    // the T-th score, and how many of the blocks tied with it are kept
    var v = 0u;
    var keepTies = 0;
    if (kept > 0) {
      v = keys[kept - 1];
      keepTies = kept - firstRank(v, kept - 1);
    }
    workgroupBarrier();

    let len = (n + ${wg - 1}) / ${wg};
    let first = tid * len;
    var wins = 0u;
    var tied = 0u;
    for (var u = 0; u < ${perThread}; u++) {
      if (u < len && first + u < n && kept > 0) {
        let key = rowKey(row, first + u);
        wins |= select(0u, 1u << u32(u), key > v);
        tied |= select(0u, 1u << u32(u), key == v);
      }
    }
    // exclusive prefix sum over the threads of (ties << 16) | wins
    let own = (countOneBits(tied) << 16u) | countOneBits(wins);
    keys[tid] = own;
    workgroupBarrier();
    for (var off = 1; off < ${wg}; off *= 2) {
      var add = 0u;
      if (tid >= off) { add = keys[tid - off]; }
      workgroupBarrier();
      keys[tid] += add;
      workgroupBarrier();
    }
    let before = keys[tid] - own;
    var tieRank = i32(before >> 16u);
    var slot = i32(before & 0xffffu) + min(tieRank, keepTies);
    for (var u = 0; u < ${perThread}; u++) {
      let bit = 1u << u32(u);
      var keep = (wins & bit) != 0u;
      if ((tied & bit) != 0u) {
        keep = tieRank < keepTies;
        tieRank++;
      }
      if (keep) {
        kvIdx[row + slot] = first + u;
        slot++;
      }
    }
    for (var p = kept + tid; p < n; p += ${wg}) { kvIdx[row + p] = -1; }
    if (tid == 0) { kvNum[line] = kept; }
  }
`;
  }
}
