import { appendAtLeast, collectAtLeast, collected } from './collect.js';

const f32 = Math.fround;

/** What `topKOfRow` found: the row's top-k in the shared buffers, or why the row needs the general path. */
export type TopKStatus = 'ok' | 'nan' | 'infinite';

/**
 * The top-k of the last `topKOfRow` call, in increasing token id: `ids[j]` and its tempered value `z[j]`,
 * j < k. Reused across calls (host kernels run synchronously, one at a time), grown on demand.
 */
export const topKBuffers = { ids: new Int32Array(0), z: new Float32Array(0) };
let work = new Float32Array(0);
/** `selectTopK`'s candidate logits in id order, beside `work`, which the selection reorders. */
let candidates = new Float32Array(0);

function ensure(vocab: number): void {
  if (topKBuffers.z.length >= vocab) return;
  topKBuffers.ids = new Int32Array(vocab);
  topKBuffers.z = new Float32Array(vocab);
  work = new Float32Array(vocab);
  candidates = new Float32Array(vocab);
}

/**
 * The k-th largest of `a[0, n)` (1 ≤ k ≤ n, no NaN), by quickselect; reorders `a`. Each round moves the
 * values above the pivot to the front, and, when none is, those equal to it (a constant or tied range
 * ends there), each by a branch-free partition: every value is swapped to the store position and
 * the position advances by the comparison's 0 or 1. A branch on the comparison is mispredicted about
 * half the time on unordered values, and that cost most of a Hoare partition's time on short rows.
 */
function kthLargest(a: Float32Array, n: number, k: number): number {
  // outside 1 ≤ k ≤ n the target lies past the range and no round can reach it: the loop would spin
  // forever (synchronously, so no test timeout could stop it) instead of failing
  if (!(k >= 1 && k <= n)) throw new Error(`kthLargest: expected 1 ≤ k ≤ n, received k = ${k} of n = ${n} values`);
  let lo = 0;
  let hi = n;
  const target = k - 1;
  for (;;) {
    // median of three as the pivot: sorted or constant rows stay O(n)
    const x = a[lo] as number;
    const y = a[(lo + hi - 1) >>> 1] as number;
    const z = a[hi - 1] as number;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let above = lo;
    for (let i = lo; i < hi; i++) {
      const v = a[i] as number;
      a[i] = a[above] as number;
      a[above] = v;
      above += +(v > pivot);
    }
    if (target < above) {
      hi = above;
      continue;
    }
    // the rest are ≤ the pivot, which is among them: their largest
    if (target === above) return pivot;
    if (above > lo) {
      lo = above;
      continue;
    }
    // nothing above the pivot: split off the values equal to it (a constant range ends here)
    let equal = above;
    for (let i = above; i < hi; i++) {
      const v = a[i] as number;
      a[i] = a[equal] as number;
      a[equal] = v;
      equal += +(v === pivot);
    }
    // only a NaN pivot equals nothing, and then lo would not advance
    if (equal === above) throw new Error(`kthLargest: expected no NaN, received a NaN pivot among ${hi - lo} values`);
    if (target < equal) return pivot;
    lo = equal;
  }
}

/**
 * The first index ≥ `from` whose logit is not below `floor` (a NaN is not), or the row length: the hot
 * loop of `topKOfRow`, one comparison per token, kept apart so that it compiles to a tight scan.
 */
function skipBelow(s: Float32Array, from: number, floor: number): number {
  const n = s.length;
  let i = from;
  while (i < n && (s[i] as number) < floor) i++;
  return i;
}

const bits = new Float32Array(1);
const bitsInt = new Int32Array(bits.buffer);

/**
 * A logit bound below which z = float32(s / t) < τ (τ a finite float32, t > 0): s·t⁻¹ rounds to the
 * double d and then to float32, both monotone, so float32(d) ≥ τ needs d > pred(τ), the float32 below
 * τ, and that needs s ≥ pred(τ)·t, a product of two float32s and so exact in a double.
 */
function logitFloor(tau: number, t: number): number {
  return tau === Number.NEGATIVE_INFINITY ? tau : below(tau) * t;
}

/** The float32 next below x (finite); −∞ below −max. */
function below(x: number): number {
  bits[0] = x;
  // the bit pattern steps by one away from zero for x < 0 and toward it for x > 0
  if (x > 0) bitsInt[0] = (bitsInt[0] as number) - 1;
  else if (x === 0) return -(2 ** -149);
  else bitsInt[0] = (bitsInt[0] as number) + 1;
  return bits[0] as number;
}

/** Keeps the candidates `[0, n)` with z ≥ tau, in order, branch-free (see `kthLargest`); returns how many. */
function keepAtLeast(n: number, tau: number): number {
  const { ids, z } = topKBuffers;
  let m = 0;
  for (let j = 0; j < n; j++) {
    const v = z[j] as number;
    z[m] = v;
    ids[m] = ids[j] as number;
    m += +(v >= tau);
  }
  return m;
}

/** `scan`'s codes for a row it cannot finish: a NaN, or a +∞ after the division. */
const NAN_ROW = -1;
const INFINITE_ROW = -2;

/**
 * The sample's rank for τ (at least): the sample is sized so that about 3k of the row's values are
 * expected at or above its RANK-th largest value; with τ the 12th largest, the chance that fewer than k
 * of the row reach it (a rescan from −∞) is ~0.1% on random logits (that count is ~ Gamma(12)·V/S, S the
 * sample size); with τ the 1st to 3rd largest it was 8–18%.
 */
const RANK = 12;
/**
 * The smallest sample worth taking (below it, rows are short enough to scan from −∞). At 128 a 1024-token
 * row with k = 50 took the 19th largest of 128 values, where the 12th of 82 gives τ the same ~3k values.
 */
const MIN_SAMPLE = 64;
/** Adjacent values per sampled run. */
const RUN = 16;

/** The `rank` largest values met so far by `startingThreshold`, descending; grown on demand. */
let best = new Float64Array(RANK);

/**
 * A starting τ for `scan` from a sample of the row: float32(x / T) for x the sample's j-th largest
 * logit (the division is monotone, so that is the j-th largest z), the sample sized so that j ≈ RANK
 * and about 3k values of the row are expected at or above it (on logits with no periodic pattern at
 * the sample's spacing). The pass then buffers those few values instead of filling the buffer with
 * the row's first ones and compacting it several times; if fewer than k reach τ after all,
 * `topKOfRow` scans again from −∞. −∞ (no threshold) for rows too short or k too large for a sample to
 * help; +∞ if it met a +∞.
 */
function startingThreshold(s: Float32Array, t: number, unit: boolean, k: number): number {
  const vocab = s.length;
  const size = Math.min(Math.floor(vocab / 2), Math.max(MIN_SAMPLE, Math.ceil((RANK * vocab) / (3 * k))));
  const rank = Math.ceil((3 * k * size) / vocab);
  if (size < MIN_SAMPLE || 4 * rank > size) return Number.NEGATIVE_INFINITY;
  // runs of RUN adjacent values (a cache line) spread evenly over the row: single values at a stride
  // touched nearly every cache line of a 131072-token row and took a fifth of the scan's time
  const runs = Math.ceil(size / RUN);
  const spacing = Math.floor(vocab / runs);
  return size < 8 * rank ? sampledRank(s, runs, spacing, rank, t, unit) : insertedRank(s, runs, spacing, rank, t, unit);
}

/** `startingThreshold`'s rank-th largest of the sample by insertion, for samples much larger than their rank. */
function insertedRank(s: Float32Array, runs: number, spacing: number, rank: number, t: number, unit: boolean): number {
  if (best.length < rank) best = new Float64Array(rank);
  // insertion into the `rank` best: a value must beat `cut`, the rank-th best once that many are held
  // (a NaN never does, and is left to the pass, which rejects the row; nor does −∞, which sets no τ)
  const b = best;
  let held = 0;
  let cut = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const from = r * spacing;
    for (let i = from; i < from + RUN; i++) {
      const x = s[i] as number;
      if (!(x > cut)) continue;
      let j = held < rank ? held++ : rank - 1;
      while (j > 0 && x > (b[j - 1] as number)) {
        b[j] = b[j - 1] as number;
        j--;
      }
      b[j] = x;
      if (held === rank) cut = b[rank - 1] as number;
    }
  }
  if (held < rank) return Number.NEGATIVE_INFINITY;
  const x = b[rank - 1] as number;
  return unit ? x : f32(x / t);
}

/**
 * `startingThreshold` for a sample that holds few more values than its rank (short rows): the sample's
 * values above −∞ (not NaN) copied out branch-free and the rank-th largest by `kthLargest` — the value the
 * insertion finds, without its mispredicted comparisons, most of them taken when rank ≈ size / 8.
 */
function sampledRank(s: Float32Array, runs: number, spacing: number, rank: number, t: number, unit: boolean): number {
  let held = 0;
  for (let r = 0; r < runs; r++) {
    const from = r * spacing;
    // four loads before their stores (RUN is a multiple of 4): a load after a store to a data-dependent
    // index waited on it, and the copy took half of `sampledRank`'s time
    for (let i = from; i < from + RUN; i += 4) {
      const x0 = s[i] as number;
      const x1 = s[i + 1] as number;
      const x2 = s[i + 2] as number;
      const x3 = s[i + 3] as number;
      work[held] = x0;
      held += +(x0 > Number.NEGATIVE_INFINITY);
      work[held] = x1;
      held += +(x1 > Number.NEGATIVE_INFINITY);
      work[held] = x2;
      held += +(x2 > Number.NEGATIVE_INFINITY);
      work[held] = x3;
      held += +(x3 > Number.NEGATIVE_INFINITY);
    }
  }
  if (held < rank) return Number.NEGATIVE_INFINITY;
  const x = kthLargest(work, held, rank);
  return unit ? x : f32(x / t);
}

/**
 * Buffers in `topKBuffers`, in increasing id, every z ≥ τ of the row that can still be in its top-k,
 * starting from τ = `tau` and raising τ as the buffer fills: a value below τ (the k-th largest among
 * values already seen, or the sampled start) can never enter the top-k, so only values ≥ τ are kept,
 * and when the buffer holds `cap` of them a quickselect raises τ and drops the rest. Returns how many
 * are buffered, or NAN_ROW / INFINITE_ROW.
 */
function scan(s: Float32Array, t: number, unit: boolean, k: number, tau: number): number {
  const vocab = s.length;
  const { ids, z } = topKBuffers;
  // compact when the buffer holds this many; a row of ties that stays above half of it doubles it
  let cap = Math.min(vocab, Math.max(4 * k, 256));
  // a logit below `floor` has z < τ, so the division is skipped for it (see `logitFloor`)
  let floor = unit ? tau : logitFloor(tau, t);
  let n = 0;
  for (let i = skipBelow(s, 0, floor); i < vocab; i = skipBelow(s, i + 1, floor)) {
    const x = s[i] as number;
    if (Number.isNaN(x)) return NAN_ROW;
    const v = unit ? x : f32(x / t);
    if (v < tau) continue;
    if (v === Number.POSITIVE_INFINITY) return INFINITE_ROW;
    z[n] = v;
    ids[n] = i;
    n++;
    if (n === cap && i < vocab - 1) {
      for (let j = 0; j < n; j++) work[j] = z[j] as number;
      tau = kthLargest(work, n, k);
      floor = unit ? tau : logitFloor(tau, t);
      n = keepAtLeast(n, tau);
      if (n > cap >> 1) cap = Math.min(vocab, 2 * cap);
    }
  }
  return n;
}

/** Values per block of `scanBlocks`: the buffer is compacted between blocks. */
const BLOCK = 64;

/**
 * `scan` for rows where every value passes τ (τ = −∞: a short row with no sampled start, or one where
 * fewer than k reached it, see `selectTopK`): the same candidates, collected without a branch on each comparison — a block's ids are appended and the
 * count advances by 0 or 1, then the block's candidates are divided and kept by the same rule. On a
 * 1024-token row with k = 50, skipBelow's exit on ~150 scattered candidates was mispredicted each time.
 */
function scanBlocks(s: Float32Array, t: number, unit: boolean, k: number, tau: number): number {
  const vocab = s.length;
  const { ids, z } = topKBuffers;
  let cap = Math.min(vocab, Math.max(4 * k, 256));
  let floor = unit ? tau : logitFloor(tau, t);
  let n = 0;
  for (let from = 0; from < vocab; from += BLOCK) {
    const to = Math.min(from + BLOCK, vocab);
    const m = appendAtLeast(s, from, to, floor, ids, n);
    if (m < 0) return NAN_ROW;
    for (let j = n; j < m; j++) {
      const i = ids[j] as number;
      const x = s[i] as number;
      const v = unit ? x : f32(x / t);
      if (v === Number.POSITIVE_INFINITY) return INFINITE_ROW;
      z[n] = v;
      ids[n] = i;
      n += +(v >= tau);
    }
    if (n >= cap && to < vocab) {
      for (let j = 0; j < n; j++) work[j] = z[j] as number;
      tau = kthLargest(work, n, k);
      floor = unit ? tau : logitFloor(tau, t);
      n = keepAtLeast(n, tau);
      if (n > cap >> 1) cap = Math.min(vocab, 2 * cap);
    }
  }
  return n;
}

/**
 * The top-k of a row where many values pass the sampled τ (48k ≥ V), selected on the logits and not on
 * z: one branch-free pass (`collectAtLeast`: WebAssembly SIMD where it runs) collects the ids and logits at
 * or above τ's logit floor, the k-th largest of those logits x_k is found by quickselect, and z_k = float32(x_k / T) is the k-th largest z (the division
 * is monotone: sorted by logit, z does not increase). Only the candidates at or above z_k's logit floor
 * (k and a few) are divided, where `scanBlocks` then `exactTopK` divided all of them (~3k) and selected on
 * their z: 5.7 → 4.3 µs a row (topKOfRow with its sampled start 6.6 → 5.4) on 1024-token rows with k = 50,
 * loaded 2-core VM. The kept set, its z and the row's max z are exactTopK's. Null when fewer than k
 * logits reach τ's floor (the caller rescans from −∞).
 */
function selectTopK(s: Float32Array, t: number, unit: boolean, k: number, tau: number): { status: TopKStatus; zmax: number } | null {
  const { ids, z } = topKBuffers;
  const m = collectAtLeast(s, unit ? tau : logitFloor(tau, t), ids, candidates);
  if (m < 0) return { status: 'nan', zmax: Number.NaN };
  // every logit below the floor is below all m candidates: with m ≥ k the row's k largest are among them
  if (m < k) return null;
  // the candidates in id order, filtered below into `ids` and `candidates` (in place for the JS pass)
  const from = collected.ids;
  const xsFrom = collected.xs;
  const xs = candidates;
  work.set(xsFrom.subarray(0, m));
  const zk = unit ? kthLargest(work, m, k) : f32(kthLargest(work, m, k) / t);
  // the candidates with z ≥ z_k, in id order (the floor may admit a few with z just below z_k)
  const zFloor = unit ? zk : logitFloor(zk, t);
  // four read before any is written: in place, a write goes to c ≤ a + 3, never past the four just read
  let c = 0;
  let a = 0;
  for (; a + 4 <= m; a += 4) {
    const x0 = xsFrom[a] as number;
    const x1 = xsFrom[a + 1] as number;
    const x2 = xsFrom[a + 2] as number;
    const x3 = xsFrom[a + 3] as number;
    const i0 = from[a] as number;
    const i1 = from[a + 1] as number;
    const i2 = from[a + 2] as number;
    const i3 = from[a + 3] as number;
    ids[c] = i0;
    xs[c] = x0;
    c += +(x0 >= zFloor);
    ids[c] = i1;
    xs[c] = x1;
    c += +(x1 >= zFloor);
    ids[c] = i2;
    xs[c] = x2;
    c += +(x2 >= zFloor);
    ids[c] = i3;
    xs[c] = x3;
    c += +(x3 >= zFloor);
  }
  for (; a < m; a++) {
    const x = xsFrom[a] as number;
    ids[c] = from[a] as number;
    xs[c] = x;
    c += +(x >= zFloor);
  }
  let above = 0;
  let zmax = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < c; j++) {
    const x = xs[j] as number;
    const v = unit ? x : f32(x / t);
    z[j] = v;
    above += +(v > zk);
    if (v > zmax) zmax = v;
  }
  // the largest z is +∞ if any is, and it is among the candidates
  if (zmax === Number.POSITIVE_INFINITY) return { status: 'infinite', zmax };
  keepTopK(c, zk, k - above);
  return { status: 'ok', zmax };
}

/**
 * Keeps the exact top-k of the `n` buffered candidates, in increasing id: those above the k-th largest,
 * then its ties by increasing id (branch-free but for ties). Returns their max z, the candidates' first
 * max in id order (that one is kept).
 */
function exactTopK(n: number, k: number): number {
  const { z } = topKBuffers;
  let zmax = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    const v = z[j] as number;
    work[j] = v;
    if (v > zmax) zmax = v;
  }
  const kth = kthLargest(work, n, k);
  let above = 0;
  for (let j = 0; j < n; j++) above += +((z[j] as number) > kth);
  keepTopK(n, kth, k - above);
  return zmax;
}

/**
 * Compacts the `n` buffered candidates to those above `kth` (the k-th largest z) and the first `room` of its
 * ties, in id order (branch-free but for ties).
 */
function keepTopK(n: number, kth: number, room: number): void {
  const { ids, z } = topKBuffers;
  let m = 0;
  for (let j = 0; j < n; j++) {
    const v = z[j] as number;
    z[m] = v;
    ids[m] = ids[j] as number;
    m += +(v > kth);
    if (v === kth && room > 0) {
      m++;
      room--;
    }
  }
}

/**
 * `topKOfRow` for k = 1: the first largest logit in one branchy pass (its branch is taken a handful of times
 * a row, where `scan` after a sampled start read the row about 1.5 times: 2.7 → 1.8 µs a 1024-token row on
 * WASM), then the lowest id whose z ties with it — only where a smaller logit can reach the same float32 z
 * (the one just below it does), a scan of the ids before it from `logitFloor`.
 */
function argmaxOfRow(s: Float32Array, t: number, unit: boolean): { status: TopKStatus; zmax: number } {
  const vocab = s.length;
  let best = Number.NEGATIVE_INFINITY;
  let at = 0;
  for (let i = 0; i < vocab; i++) {
    const x = s[i] as number;
    if (x > best) {
      best = x;
      at = i;
    } else if (Number.isNaN(x)) return { status: 'nan', zmax: Number.NaN };
  }
  const zmax = unit ? best : f32(best / t);
  if (zmax === Number.POSITIVE_INFINITY) return { status: 'infinite', zmax };
  let first = at;
  if (!unit && best > Number.NEGATIVE_INFINITY && f32(below(best) / t) === zmax) {
    const floor = logitFloor(zmax, t);
    for (let j = 0; j < at; j++) {
      const x = s[j] as number;
      if (x >= floor && f32(x / t) === zmax) {
        first = j;
        break;
      }
    }
  }
  const z = unit ? (s[first] as number) : f32((s[first] as number) / t);
  topKBuffers.ids[0] = first;
  topKBuffers.z[0] = z;
  return { status: 'ok', zmax: z };
}

/**
 * The k largest of z = float32(s / T) over one row `s` (0 < k < V), ties by lower token id — the same set
 * as `keptPrefix(·, ·, z, () => 1, k)` over the whole row — in one read of the row without writing z for
 * it (`scan`; on short rows, 48k ≥ V, `selectTopK`). Leaves the top-k in `topKBuffers` in increasing id and returns the row's max z; the status
 * is 'nan' for a row holding a NaN and 'infinite' for one holding +∞ after the division (the general
 * path's non-finite rules), the buffers then unspecified.
 */
export function topKOfRow(s: Float32Array, temperature: number, k: number): { status: TopKStatus; zmax: number } {
  ensure(s.length);
  const t = f32(temperature);
  const unit = temperature === 1;
  if (k === 1) return argmaxOfRow(s, t, unit);
  const start = startingThreshold(s, t, unit, k);
  if (start === Number.POSITIVE_INFINITY) return { status: 'infinite', zmax: start };
  let n = 0;
  if (48 * k >= s.length) {
    if (start > Number.NEGATIVE_INFINITY) {
      const selected = selectTopK(s, t, unit, k, start);
      if (selected !== null) return selected;
    }
    n = scanBlocks(s, t, unit, k, Number.NEGATIVE_INFINITY);
  } else {
    n = scan(s, t, unit, k, start);
    if (n >= 0 && n < k) n = scanBlocks(s, t, unit, k, Number.NEGATIVE_INFINITY);
  }
  // from −∞ every value but a NaN (reported above) is a candidate, so k < V of them are kept; fewer means
  // the collect loop dropped values it must keep, and the selection below would have no k-th largest
  if (n >= 0 && n < k) {
    throw new Error(
      `topKOfRow: internal error: ${n} of the ${s.length} values kept from −∞, fewer than k = ${k} (appendAtLeast must keep every value ≥ the floor)`,
    );
  }
  if (n === NAN_ROW) return { status: 'nan', zmax: Number.NaN };
  if (n === INFINITE_ROW) return { status: 'infinite', zmax: Number.POSITIVE_INFINITY };
  return { status: 'ok', zmax: exactTopK(n, k) };
}
