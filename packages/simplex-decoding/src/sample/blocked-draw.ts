import type { Draw } from './blocked-cdf.js';
import { GROUP_SEGMENTS, GROUP_TOKENS, groupsFor, SEGMENT } from './layout.js';

const f32 = Math.fround;

/*
 * The host kernels' inverse CDF: the draw of `blockedInverseCdf` (blocked-cdf.ts, the readable oracle),
 * bit for bit, in one read of the row. The oracle scans the row for invalid weights, sums every segment
 * and then sums the chosen group's segments again; here the segment sums are kept from the one pass, and
 * a sparse row (the fused sampler's kept set) is never expanded to V at all. Buffers are reused across
 * calls: host kernels run synchronously, one at a time.
 */

let segmentScratch = new Float32Array(0);
const treeScratch = new Float32Array(GROUP_SEGMENTS);

function segmentBuffer(count: number): Float32Array {
  if (segmentScratch.length < count) segmentScratch = new Float32Array(count);
  return segmentScratch;
}

/** The pairwise tree of layout.ts over `treeScratch` (its 256 segment sums, zero-padded): the group's sum. */
function treeSum(): number {
  const s = treeScratch;
  for (let stride = GROUP_SEGMENTS / 2; stride > 0; stride >>= 1) {
    for (let t = 0; t < stride; t++) s[t] = (s[t] as number) + (s[t + stride] as number);
  }
  return s[0] as number;
}

const INVALID: Draw = { id: -1, logprob: Number.NaN };

function drawOf(weight: number, total: number, id: number): Draw {
  return { id, logprob: f32(f32(Math.log(weight)) - f32(Math.log(total))) };
}

/**
 * The left-to-right float32 sum of every 16-token segment of `w` into `seg`; true if a weight is
 * negative. Four segments at a time: each sum is a chain of dependent roundings, and interleaving four
 * independent chains keeps the adder busy (same sums, same order within each segment).
 */
function segmentSums(w: Float32Array, seg: Float32Array): boolean {
  const vocab = w.length;
  const full = Math.floor(vocab / SEGMENT);
  let negative = false;
  let t = 0;
  for (; t + 4 <= full; t += 4) {
    const b = t * SEGMENT;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let i = b; i < b + SEGMENT; i++) {
      const v0 = w[i] as number;
      const v1 = w[i + SEGMENT] as number;
      const v2 = w[i + 2 * SEGMENT] as number;
      const v3 = w[i + 3 * SEGMENT] as number;
      if (v0 < 0 || v1 < 0 || v2 < 0 || v3 < 0) negative = true;
      a0 = f32(a0 + v0);
      a1 = f32(a1 + v1);
      a2 = f32(a2 + v2);
      a3 = f32(a3 + v3);
    }
    seg[t] = a0;
    seg[t + 1] = a1;
    seg[t + 2] = a2;
    seg[t + 3] = a3;
  }
  for (; t * SEGMENT < vocab; t++) {
    const end = Math.min((t + 1) * SEGMENT, vocab);
    let acc = 0;
    for (let i = t * SEGMENT; i < end; i++) {
      const v = w[i] as number;
      if (v < 0) negative = true;
      acc = f32(acc + v);
    }
    seg[t] = acc;
  }
  return negative;
}

/**
 * `blockedInverseCdf(w, u)` for a dense row of nonnegative weights, same id and logprob bit for bit, in
 * one pass over w. A negative weight is caught in the pass; a NaN or +∞ weight makes the row total NaN
 * or +∞ (float32 sums propagate both), which the oracle rejects as well.
 */
export function drawDense(w: Float32Array, u: number): Draw {
  const vocab = w.length;
  const segments = Math.ceil(vocab / SEGMENT);
  const seg = segmentBuffer(segments);
  const negative = segmentSums(w, seg);
  if (negative) return INVALID;
  const groups = groupsFor(vocab);
  const sums = new Float32Array(groups);
  let total = 0;
  for (let g = 0; g < groups; g++) {
    const first = g * GROUP_SEGMENTS;
    const count = Math.min(GROUP_SEGMENTS, segments - first);
    treeScratch.set(seg.subarray(first, first + count));
    treeScratch.fill(0, count);
    sums[g] = treeSum();
    total = f32(total + (sums[g] as number));
  }
  if (!(total > 0) || total === Number.POSITIVE_INFINITY) return INVALID;
  const target = f32(u * total);
  let acc = 0;
  for (let g = 0; g < groups; g++) {
    const next = f32(acc + (sums[g] as number));
    if (next <= target) {
      acc = next;
      continue;
    }
    const firstSegment = g * GROUP_SEGMENTS;
    const lastSegment = Math.min(firstSegment + GROUP_SEGMENTS, segments);
    for (let t = firstSegment; t < lastSegment; t++) {
      const nextSegment = f32(acc + (seg[t] as number));
      if (nextSegment <= target) {
        acc = nextSegment;
        continue;
      }
      const end = Math.min((t + 1) * SEGMENT, vocab);
      let inner = acc;
      for (let i = t * SEGMENT; i < end; i++) {
        inner = f32(inner + (w[i] as number));
        if (inner > target) return drawOf(w[i] as number, total, i);
      }
      return lastPositiveDraw(w, t * SEGMENT, end, total);
    }
    return lastPositiveDraw(w, g * GROUP_TOKENS, Math.min((g + 1) * GROUP_TOKENS, vocab), total);
  }
  return lastPositiveDraw(w, 0, vocab, total);
}

function lastPositiveDraw(w: Float32Array, start: number, end: number, total: number): Draw {
  for (let i = end - 1; i >= start; i--) if ((w[i] as number) > 0) return drawOf(w[i] as number, total, i);
  // the oracle's log(w[−1]) − log(total): NaN (unreachable for a positive total: its group holds a positive weight)
  return { id: -1, logprob: Number.NaN };
}

/** Scratch of `drawSparse`, per touched segment and group; grown on demand. */
let sparse = {
  segIndex: new Int32Array(0),
  segSum: new Float32Array(0),
  segFirst: new Int32Array(1),
  groupSum: new Float32Array(0),
  groupFirst: new Int32Array(1),
};
const present = new Uint8Array(GROUP_SEGMENTS);
const active = new Int32Array(GROUP_SEGMENTS);

/**
 * The pairwise tree of layout.ts over one group whose only nonzero segment sums are `sums[a]` at
 * in-group positions `positions[a]` (a < count, distinct): the dense tree's result, touching only the
 * occupied slots — at stride h the slot t + h folds into t, and an empty partner passes the value on.
 */
function sparseTreeSum(positions: Int32Array, sums: Float32Array, from: number, count: number): number {
  const s = treeScratch;
  let m = 0;
  for (let a = from; a < from + count; a++) {
    const t = positions[a] as number;
    s[t] = sums[a] as number;
    present[t] = 1;
    active[m++] = t;
  }
  for (let stride = GROUP_SEGMENTS / 2; stride > 0; stride >>= 1) {
    let kept = 0;
    for (let j = 0; j < m; j++) {
      const t = active[j] as number;
      if (t < stride) {
        active[kept++] = t;
        continue;
      }
      const to = t - stride;
      present[t] = 0;
      if (present[to] === 1) s[to] = (s[to] as number) + (s[t] as number);
      else {
        s[to] = s[t] as number;
        present[to] = 1;
        active[kept++] = to;
      }
    }
    m = kept;
  }
  present[0] = 0;
  return s[0] as number;
}

/**
 * `sparseTreeSum` when the positions lie below `span`, a power of two: the dense tree over `span`
 * zero-padded slots, the strides ≥ span only adding zeros. Cheaper where span ≤ 8·count (a row of V ≤ 4096
 * tokens is one group of at most 256 segments): no branch on the occupied slots, mispredicted on short rows.
 */
function denseTreeSum(positions: Int32Array, sums: Float32Array, from: number, count: number, span: number): number {
  const s = treeScratch;
  s.fill(0, 0, span);
  for (let a = from; a < from + count; a++) s[positions[a] as number] = sums[a] as number;
  for (let stride = span >> 1; stride > 0; stride >>= 1) {
    for (let t = 0; t < stride; t++) s[t] = (s[t] as number) + (s[t + stride] as number);
  }
  return s[0] as number;
}

function lastPositiveOf(ids: Int32Array, weights: Float32Array, from: number, to: number, total: number): Draw {
  for (let j = to - 1; j >= from; j--) if ((weights[j] as number) > 0) return drawOf(weights[j] as number, total, ids[j] as number);
  return { id: -1, logprob: Number.NaN };
}

/** `drawOneGroup`'s segment sums, dense over the group's segments. */
const groupSegments = new Float32Array(GROUP_SEGMENTS);

/**
 * `drawSparse` when every id lies in the first group (a row of up to 4096 tokens, or kept ids below 4096):
 * the segment sums kept densely, an empty segment +0 — adding +0 leaves a float32 sum ≥ 0 as it is, so the
 * sums, the tree (`denseTreeSum`'s) and the walk are the sparse path's — without its bookkeeping of the
 * touched segments and groups (about half of its time on the fused sampler's ~50 kept tokens of 1024).
 */
function drawOneGroup(ids: Int32Array, weights: Float32Array, n: number, u: number): Draw {
  const segments = Math.floor((ids[n - 1] as number) / SEGMENT) + 1;
  let span = 1;
  while (span < segments) span *= 2;
  const seg = groupSegments;
  seg.fill(0, 0, span);
  for (let j = 0; j < n; j++) {
    const t = Math.floor((ids[j] as number) / SEGMENT);
    seg[t] = f32((seg[t] as number) + (weights[j] as number));
  }
  const s = treeScratch;
  for (let t = 0; t < span; t++) s[t] = seg[t] as number;
  for (let stride = span >> 1; stride > 0; stride >>= 1) {
    for (let t = 0; t < stride; t++) s[t] = (s[t] as number) + (s[t + stride] as number);
  }
  const total = s[0] as number;
  if (!(total > 0) || total === Number.POSITIVE_INFINITY) return INVALID;
  const target = f32(u * total);
  // the one group's step of the walk: past the target only if its sum (= total) is
  if (total <= target) return lastPositiveOf(ids, weights, 0, n, total);
  let acc = 0;
  let j = 0;
  for (let t = 0; t < segments; t++) {
    const next = f32(acc + (seg[t] as number));
    if (next <= target) {
      acc = next;
      continue;
    }
    while (Math.floor((ids[j] as number) / SEGMENT) < t) j++;
    const from = j;
    let inner = acc;
    for (; j < n && Math.floor((ids[j] as number) / SEGMENT) === t; j++) {
      inner = f32(inner + (weights[j] as number));
      if (inner > target) return drawOf(weights[j] as number, total, ids[j] as number);
    }
    return lastPositiveOf(ids, weights, from, j, total);
  }
  return lastPositiveOf(ids, weights, 0, n, total);
}

/**
 * `blockedInverseCdf` of the row that is `weights[j]` at token `ids[j]` (j < n, ids strictly increasing,
 * weights finite and ≥ 0) and 0 elsewhere, same id and logprob bit for bit, in O(n log 256) — the row
 * length never enters. Exact because adding +0 to a float32 partial sum leaves it unchanged: a segment's
 * left-to-right sum is the sum of its nonzero tokens in id order, an empty segment or group adds nothing,
 * and in the tree an empty operand passes the other one through.
 */
export function drawSparse(ids: Int32Array, weights: Float32Array, n: number, u: number): Draw {
  if (n > 0 && (ids[n - 1] as number) < GROUP_TOKENS) return drawOneGroup(ids, weights, n, u);
  if (sparse.segIndex.length < n) {
    sparse = {
      segIndex: new Int32Array(n),
      segSum: new Float32Array(n),
      segFirst: new Int32Array(n + 1),
      groupSum: new Float32Array(n),
      groupFirst: new Int32Array(n + 1),
    };
  }
  const { segIndex, segSum, segFirst, groupSum, groupFirst } = sparse;
  // touched segments in increasing order (ids increase), each with its sum and first token
  let segments = 0;
  for (let j = 0; j < n; j++) {
    const t = Math.floor((ids[j] as number) / SEGMENT);
    if (segments > 0 && segIndex[segments - 1] === t) segSum[segments - 1] = f32((segSum[segments - 1] as number) + (weights[j] as number));
    else {
      segIndex[segments] = t;
      segSum[segments] = weights[j] as number;
      segFirst[segments] = j;
      segments++;
    }
  }
  segFirst[segments] = n;
  // touched groups, each with its tree sum and first touched segment; in-group positions replace segIndex
  let groups = 0;
  let total = 0;
  for (let a = 0; a < segments; ) {
    const g = Math.floor((segIndex[a] as number) / GROUP_SEGMENTS);
    let b = a;
    while (b < segments && Math.floor((segIndex[b] as number) / GROUP_SEGMENTS) === g) {
      segIndex[b] = (segIndex[b] as number) - g * GROUP_SEGMENTS;
      b++;
    }
    let span = 1;
    while (span <= (segIndex[b - 1] as number)) span *= 2;
    const sum = span <= 8 * (b - a) ? denseTreeSum(segIndex, segSum, a, b - a, span) : sparseTreeSum(segIndex, segSum, a, b - a);
    groupSum[groups] = sum;
    groupFirst[groups] = a;
    groups++;
    total = f32(total + sum);
    a = b;
  }
  groupFirst[groups] = segments;
  if (!(total > 0) || total === Number.POSITIVE_INFINITY) return INVALID;
  const target = f32(u * total);
  let acc = 0;
  for (let h = 0; h < groups; h++) {
    const next = f32(acc + (groupSum[h] as number));
    if (next <= target) {
      acc = next;
      continue;
    }
    const segTo = groupFirst[h + 1] as number;
    for (let a = groupFirst[h] as number; a < segTo; a++) {
      const nextSegment = f32(acc + (segSum[a] as number));
      if (nextSegment <= target) {
        acc = nextSegment;
        continue;
      }
      let inner = acc;
      const to = segFirst[a + 1] as number;
      for (let j = segFirst[a] as number; j < to; j++) {
        inner = f32(inner + (weights[j] as number));
        if (inner > target) return drawOf(weights[j] as number, total, ids[j] as number);
      }
      return lastPositiveOf(ids, weights, segFirst[a] as number, to, total);
    }
    return lastPositiveOf(ids, weights, segFirst[groupFirst[h] as number] as number, segFirst[segTo] as number, total);
  }
  return lastPositiveOf(ids, weights, 0, n, total);
}
