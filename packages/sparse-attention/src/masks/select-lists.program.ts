import type { WebGPUOutputsProgram } from '@tessera/tensor-core';
import { SELECT_MAX_COLS } from './select.program.js';

const WG = 256;
/** Row entries a thread loads, and items it compacts: Nk ≤ 4096 = 16 · 256. */
const PER_THREAD = SELECT_MAX_COLS / WG;
/** Ranks whose mass one round of the top-p search tests, one thread each (a warp: the cost of one). */
const CANDIDATES = 32;
/** Row entries a candidate's pass loads before it adds any. */
const BATCH = 8;

/**
 * hybridMask's selection (top-k ∪ top-p, SelectAttrs with pThrough < 0) straight to the forward's lists, in one
 * program writing both: one workgroup per row of `scores [R = B·H·Nq, Nk]` writes kvIdx `[R, Nk]` (kept blocks
 * ascending, then −1) and kvNum `[R]`. The rule is SelectProgram's (`keepBlock`, select.wgsl.ts), reached without
 * its O(Nk²) ranking:
 * - Only positive blocks are kept, and blocks rank by (score desc, index asc). The mass before a block,
 *   M(r) = the float32 sum in index order of the scores ranked before it (rank r), is what keepBlock adds up,
 *   and it does not fall as r grows (rounding is monotone and the scores added are ≥ 0). So the kept set is
 *   the top T positives, T = the first r ≥ min(k, P) with M(r) ≥ pBefore, else P (P = positive blocks).
 * - The row's positive scores, as u32 bits (which order like the floats), are bitonic-sorted descending in
 *   workgroup memory (log₂W·(log₂W + 1)/2 steps of W/512 compare-exchanges a thread, W = Nk rounded up to a
 *   power of 2): the score of rank r is keys[r], and the blocks tied with it before it are r − (its first rank).
 * - T by a 32-way search over r: each round 32 threads each compute one candidate's M(r) exactly as keepBlock
 *   does (one pass over the row in index order, loads batched 8 at a time); 2 rounds at Nk ≤ 1024, 3 at 4096.
 * - Compaction: block i is kept when its score beats the T-th's, or ties it and is among the first T − (blocks
 *   above it) of the tie in index order; each thread tests a run of ⌈Nk/256⌉ blocks, one prefix sum over the
 *   threads of (ties, wins) packed in a u32 gives each kept block its slot. kvNum is T.
 * 16 KiB of workgroup memory (the sorted row, reused for the prefix sum).
 */
export class SelectListsProgram implements WebGPUOutputsProgram {
  shaderKey = `tessera_block_select_lists_${WG}_${SELECT_MAX_COLS}_${CANDIDATES}`;
  outputNames = ['kvIdx', 'kvNum'];
  variableNames = ['scores'];
  workgroupSize = WG;
  workgroups: number;
  uniforms = 'lines : i32, cols : i32, width : i32, k : i32, pBefore : f32,';

  constructor(rows: number) {
    this.workgroups = rows;
  }

  getUserCode(): string {
    return `
  var<workgroup> keys : array<u32, ${SELECT_MAX_COLS}>;
  var<workgroup> found : atomic<i32>;
  var<workgroup> lineState : array<i32, 2>;

  // positive scores as their bits (ordered as the floats); 0 for blocks never kept (≤ 0, NaN)
  fn keyOf(x : f32) -> u32 { return select(0u, bitcast<u32>(x), x > 0.0); }

  // the first rank holding key v (the blocks above v: keys sorted descending)
  fn firstRank(v : u32, r : i32) -> i32 {
    var lo = 0;
    var hi = r;
    while (lo < hi) {
      let mid = (lo + hi) / 2;
      if (keys[mid] > v) { lo = mid + 1; } else { hi = mid; }
    }
    return lo;
  }

  // M(r): keepBlock's mass before the block of rank r, summed in index order
  fn massBefore(row : i32, r : i32) -> f32 {
    let n = uniforms.cols;
    let v = keys[r];
    let tiesBefore = r - firstRank(v, r);
    var ties = 0;
    var mass = 0.0;
    for (var i0 = 0; i0 < n; i0 += ${BATCH}) {
      var x : array<f32, ${BATCH}>;
      for (var u = 0; u < ${BATCH}; u++) { x[u] = scores[row + min(i0 + u, n - 1)]; }
      for (var u = 0; u < ${BATCH}; u++) {
        let key = keyOf(x[u]);
        let tie = key == v && i0 + u < n;
        if (i0 + u < n && (key > v || (tie && ties < tiesBefore))) { mass += x[u]; }
        ties += select(0, 1, tie);
      }
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

    var x : array<f32, ${PER_THREAD}>;
    for (var u = 0; u < ${PER_THREAD}; u++) {
      if (tid + u * ${WG} < n) { x[u] = scores[row + tid + u * ${WG}]; }
    }
    for (var u = 0; u < ${PER_THREAD}; u++) {
      let j = tid + u * ${WG};
      if (j < w) { keys[j] = select(0u, keyOf(x[u]), j < n); }
    }
    workgroupBarrier();

    // bitonic sort, descending
    for (var size = 2; size <= w; size *= 2) {
      for (var stride = size / 2; stride > 0; stride /= 2) {
        for (var p = tid; p < w / 2; p += ${WG}) {
          let i = 2 * stride * (p / stride) + p % stride;
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

    let len = (n + ${WG - 1}) / ${WG};
    let first = tid * len;
    var wins = 0u;
    var tied = 0u;
    for (var u = 0; u < ${PER_THREAD}; u++) {
      if (u < len && first + u < n) { x[u] = scores[row + first + u]; }
    }
    for (var u = 0; u < ${PER_THREAD}; u++) {
      if (u < len && first + u < n && kept > 0) {
        let key = keyOf(x[u]);
        wins |= select(0u, 1u << u32(u), key > v);
        tied |= select(0u, 1u << u32(u), key == v);
      }
    }
    // exclusive prefix sum over the threads of (ties << 16) | wins
    let own = (countOneBits(tied) << 16u) | countOneBits(wins);
    keys[tid] = own;
    workgroupBarrier();
    for (var off = 1; off < ${WG}; off *= 2) {
      var add = 0u;
      if (tid >= off) { add = keys[tid - off]; }
      workgroupBarrier();
      keys[tid] += add;
      workgroupBarrier();
    }
    let before = keys[tid] - own;
    var tieRank = i32(before >> 16u);
    var slot = i32(before & 0xffffu) + min(tieRank, keepTies);
    for (var u = 0; u < ${PER_THREAD}; u++) {
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
    for (var p = kept + tid; p < n; p += ${WG}) { kvIdx[row + p] = -1; }
    if (tid == 0) { kvNum[line] = kept; }
  }
`;
  }
}
