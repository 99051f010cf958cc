import type { HostTensor } from '@tessera/tensor-core';
import type { Draw } from '../sample/blocked-cdf.js';
import { drawDense, drawSparse } from '../sample/blocked-draw.js';
import type { FusedAttrs } from './attrs.js';
import { exp32 } from './exp32.js';
import { topKBuffers, topKOfRow } from './top-candidates.js';

const f32 = Math.fround;

/** `temperedRow`'s output, reused: host kernels run synchronously, one at a time, and use it at once. */
let temperedScratch = new Float32Array(0);

/**
 * z = s / T in float32 (T rounded to float32 first, as a tfjs scalar is), −0 folded into +0, under the
 * non-finite rules of `sampleFromLogits`: null for a row holding a NaN, and a row holding +∞ replaced by
 * its limit (0 on the +∞ tokens, −∞ elsewhere). The row is valid until the next call.
 */
export function temperedRow(values: Float32Array, temperature: number): Float32Array | null {
  const t = f32(temperature);
  if (temperedScratch.length < values.length) temperedScratch = new Float32Array(values.length);
  const z = temperedScratch.subarray(0, values.length);
  let infinite = false;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) return null;
    const v = temperature === 1 ? (values[i] as number) : f32((values[i] as number) / t);
    z[i] = v === 0 ? 0 : v;
    if (v === Number.POSITIVE_INFINITY) infinite = true;
  }
  if (infinite) {
    for (let i = 0; i < z.length; i++) z[i] = z[i] === Number.POSITIVE_INFINITY ? 0 : Number.NEGATIVE_INFINITY;
  }
  return z;
}

function swap(idx: Int32Array, a: number, b: number): void {
  const t = idx[a] as number;
  idx[a] = idx[b] as number;
  idx[b] = t;
}

/**
 * Moves the kept prefix of `idx[0, n)` in rank order — the tokens whose weight ranked strictly above them
 * is < `goal` — to the front, unordered, and returns its length. A quickselect on the weighted rank
 * (expected O(n), never a full sort): each pivot splits the range, and the mass above the pivot decides
 * which side holds the boundary. `weights` null (each weight 1), `goal = k` is top-k; `weights[i] =
 * exp(z[i] − max)`, `goal = p·M` is top-p over the range. An array and not a weight function: a callback
 * made per row left the call site polymorphic, a call per comparison, on short rows about a tenth of the
 * fused sampler's time.
 */
export function keptPrefix(idx: Int32Array, n: number, z: Float32Array, weights: Float32Array | null, goal: number): number {
  let lo = 0;
  let hi = n;
  let acc = 0;
  while (lo < hi) {
    swap(idx, (lo + hi) >>> 1, hi - 1);
    const pivot = idx[hi - 1] as number;
    const zp = z[pivot] as number;
    let store = lo;
    let mass = 0;
    // branch-free (a branch on the rank test is mispredicted about half the time), the same swaps and sums
    // as `if (before) { mass += w; swap(i, store); store++ }`: `before` is 0 or 1, 0·w adds +0 to a sum ≥ +0
    // (w finite), and the swap picks its values by arithmetic on the two ids
    for (let i = lo; i < hi - 1; i++) {
      const token = idx[i] as number;
      const other = idx[store] as number;
      const zt = z[token] as number;
      // larger z first, ties by lower token id
      const before = +(zt > zp) | (+(zt === zp) & +(token < pivot));
      mass += before * (weights === null ? 1 : (weights[token] as number));
      idx[store] = other + before * (token - other);
      idx[i] = token + before * (other - token);
      store += before;
    }
    swap(idx, store, hi - 1);
    if (acc + mass >= goal) {
      hi = store;
    } else {
      acc += mass + (weights === null ? 1 : (weights[pivot] as number));
      lo = store + 1;
    }
  }
  return lo;
}

/** w[i] = float32 e^{z[i] − zmax} and idx[i] = i for i < n; returns Σ w[i] summed in index order. */
function weightsOf(z: Float32Array, zmax: number, n: number, w: Float32Array, idx: Int32Array): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const wi = exp32(f32((z[i] as number) - zmax));
    w[i] = wi;
    idx[i] = i;
    total += wi;
  }
  return total;
}

/**
 * The top-k then nucleus selection of one tempered row `z` (max `zmax`): w = exp(z − zmax), and the kept ids in
 * `idx[0, n)` (top-k by quickselect when 0 < k < V, then the nucleus at p·M when p < 1, M the top-k set's mass).
 * Shared by the fused sampler's host kernel and the truncated closed forms'.
 */
export function keptSet(z: Float32Array, zmax: number, k: number, p: number): { w: Float32Array; idx: Int32Array; n: number } {
  const vocab = z.length;
  if (keptWeights.length < vocab) {
    keptWeights = new Float32Array(vocab);
    keptIds = new Int32Array(vocab);
  }
  const w = keptWeights.subarray(0, vocab);
  const idx = keptIds;
  // the whole row's mass in id order, the order of the sum below when no top-k reorders idx
  let total = weightsOf(z, zmax, vocab, w, idx);
  let n = vocab;
  if (k > 0 && k < vocab) {
    n = keptPrefix(idx, n, z, null, k);
    total = 0;
    for (let j = 0; j < n; j++) total += w[idx[j] as number] as number;
  }
  if (p < 1) n = keptPrefix(idx, n, z, w, f32(p * f32(total)));
  return { w, idx, n };
}

/** Scratch of `keptSet` (its weights and ids, valid until the next call) and of the general path's kept weights. */
let keptWeights = new Float32Array(0);
let keptIds = new Int32Array(0);
let keptDense = new Float32Array(0);

/** Scratch of the fast path: the top-k's weights and the kept ones' positions, grown on demand. */
let fastWeights = new Float32Array(0);
let fastIds = new Int32Array(0);
let fastPositions = new Int32Array(0);
let fastKept = new Uint8Array(0);

/** Equal slices of the weights' range [0, 1] for `nucleusCut`: about one of the 50 weights of a k = 50 row in each. */
const SLICES = 64;
const sliceMass = new Float64Array(SLICES);
/** `nucleusCut`'s answer when it leaves the nucleus to `keptPrefix`: no slice is above it. */
export const NO_CUT = SLICES;
/** The most positions of the boundary slice that `nucleusCut` ranks by insertion before leaving them to `keptPrefix`. */
const MAX_BOUNDARY = 16;
const boundary = new Int32Array(MAX_BOUNDARY + 1);

/** The slice of a weight w ∈ [0, 1]: non-decreasing in w, so a higher slice holds only larger weights (and z). */
export function sliceOf(w: number): number {
  return Math.min(w * SLICES, SLICES - 1) | 0;
}

/**
 * The nucleus of the `n` weights `w` (positions in increasing token id, z their tempered values) at `goal`,
 * as `keptPrefix` finds it, without its weighted quickselect: the mass of each slice of the weights (slices
 * follow the rank order), the slice where the mass from the top reaches `goal`, and that slice's few
 * positions ranked by insertion. Returns the slice above which every position is kept, the kept positions
 * of the boundary slice flagged in `kept`; NO_CUT where it leaves the nucleus to `keptPrefix`.
 *
 * The same set because every sum is exact: the weights are float32s ≥ wmin, multiples of 2^-23 ·
 * 2^⌊log2 wmin⌋ > 2^-24 · wmin, and no sum exceeds n (each w ≤ 1), so where n < 2^29 · wmin every partial sum
 * is a double (< 2^53 of those units) and the order of the additions — keptPrefix's, or these slices' — is
 * immaterial: a position is kept iff the exact mass ranked above it is < goal. Smaller weights, or a
 * boundary slice of more than MAX_BOUNDARY positions (peaked rows), take keptPrefix.
 */
export function nucleusCut(z: Float32Array, w: Float32Array, n: number, goal: number, kept: Uint8Array): number {
  const mass = sliceMass;
  mass.fill(0);
  let wmin = 1;
  for (let j = 0; j < n; j++) {
    const wj = w[j] as number;
    const b = sliceOf(wj);
    mass[b] = (mass[b] as number) + wj;
    wmin = Math.min(wmin, wj);
  }
  return cutOfSlices(z, w, n, goal, kept, wmin);
}

/** `nucleusCut` once `sliceMass` holds each slice's mass and `wmin` the least weight (`fastRow` fills both with the weights). */
function cutOfSlices(z: Float32Array, w: Float32Array, n: number, goal: number, kept: Uint8Array, wmin: number): number {
  const mass = sliceMass;
  // a NaN goal (keptPrefix then keeps every position) is left to it as well
  if (!(n < 2 ** 29 * wmin) || Number.isNaN(goal)) return NO_CUT;
  let cut = SLICES - 1;
  let acc = 0;
  while (cut >= 0 && acc + (mass[cut] as number) < goal) acc += mass[cut--] as number;
  // the goal exceeds the whole mass: every position is kept
  if (cut < 0) return -1;
  let c = 0;
  for (let j = 0; j < n && c <= MAX_BOUNDARY; j++) {
    boundary[c] = j;
    c += +(sliceOf(w[j] as number) === cut);
  }
  if (c > MAX_BOUNDARY) return NO_CUT;
  // rank order: larger z first, ties by lower position (= lower token id)
  for (let a = 1; a < c; a++) {
    const j = boundary[a] as number;
    const zj = z[j] as number;
    let b = a;
    while (b > 0 && (z[boundary[b - 1] as number] as number) < zj) {
      boundary[b] = boundary[b - 1] as number;
      b--;
    }
    boundary[b] = j;
  }
  for (let a = 0; a < c && acc < goal; a++) {
    const j = boundary[a] as number;
    kept[j] = 1;
    acc += w[j] as number;
  }
  return cut;
}

/**
 * One row of the fused sampler when 0 < k < V: the top-k by `topKOfRow` (one pass over the row, no
 * exp and no write of V values), then the nucleus and min-p on the k weights and the sparse blocked
 * draw — the same draw as the general path's (keptSet, the dense inverse CDF): the top-k set is the
 * same, the nucleus is `keptPrefix`'s set on the same weights (by `nucleusCut` where its sums are
 * exact), and the sparse draw is the dense one bit for bit. Null when the row holds a NaN or +∞, which
 * the general path's rules handle.
 */
function fastRow(row: Float32Array, attrs: FusedAttrs, p: number, pMin: number, u: number): Draw | null {
  const { k } = attrs;
  const { status, zmax } = topKOfRow(row, attrs.temperature, k);
  if (status !== 'ok') return null;
  // a row of −∞ has no distribution (the general path's exp(−∞ − −∞) is NaN)
  if (zmax === Number.NEGATIVE_INFINITY) return { id: -1, logprob: Number.NaN };
  if (fastWeights.length < k) {
    fastWeights = new Float32Array(k);
    fastIds = new Int32Array(k);
    fastPositions = new Int32Array(k);
    fastKept = new Uint8Array(k);
  }
  const { z, ids } = topKBuffers;
  const w = fastWeights;
  // positions are in increasing token id, so keptPrefix's tie order (lower index first) is the token order
  const idx = fastPositions;
  const kept = fastKept;
  kept.fill(0, 0, k);
  // kept: the positions whose weight slice is above `cut`, and those flagged in `kept`
  let cut = -1;
  if (p < 1) {
    // weightsOf with the slices' masses in the same pass (idx is written only for keptPrefix)
    const mass = sliceMass;
    mass.fill(0);
    let total = 0;
    let wmin = 1;
    for (let j = 0; j < k; j++) {
      const wj = exp32(f32((z[j] as number) - zmax));
      w[j] = wj;
      total += wj;
      const b = sliceOf(wj);
      mass[b] = (mass[b] as number) + wj;
      wmin = Math.min(wmin, wj);
    }
    const goal = f32(p * f32(total));
    cut = cutOfSlices(z, w, k, goal, kept, wmin);
    if (cut === NO_CUT) {
      for (let j = 0; j < k; j++) idx[j] = j;
      const n = keptPrefix(idx, k, z, w, goal);
      for (let a = 0; a < n; a++) kept[idx[a] as number] = 1;
    }
  } else {
    for (let j = 0; j < k; j++) w[j] = exp32(f32((z[j] as number) - zmax));
  }
  // the kept positions in increasing order (= increasing token id) by flags, not a sort; compacted
  // branch-free: every position is written at m and m advances by the kept flag (m ≤ j, so the slot
  // written was read already)
  let m = 0;
  for (let j = 0; j < k; j++) {
    const wj = w[j] as number;
    fastIds[m] = ids[j] as number;
    w[m] = wj;
    m += (+(sliceOf(wj) > cut) | (kept[j] as number)) & +(wj >= pMin);
  }
  return drawSparse(fastIds, w, m, u);
}

/**
 * The fused sampler on typed arrays, same semantics as the WGSL path: temperature, top-k and top-p by
 * weighted quickselect (no full sort of the vocabulary), min-p against the top token, then the blocked
 * inverse CDF of `sample` over exp(z − max) on the kept set. `logits: [B, V]`, `u: [B]` → `[B, 2]` rows
 * (id, logprob); (−1, NaN) for a row holding a NaN or only −∞. With top-k on, finite rows take `fastRow`.
 */
export function fusedHost(logits: HostTensor, u: HostTensor, attrs: FusedAttrs): HostTensor {
  const [rows, vocab] = logits.shape as [number, number];
  const values = logits.values as Float32Array;
  const p = f32(attrs.p);
  const pMin = f32(attrs.pMin);
  const out = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * vocab, (r + 1) * vocab);
    const draw =
      (attrs.k > 0 && attrs.k < vocab ? fastRow(row, attrs, p, pMin, u.values[r] as number) : null) ??
      generalRow(row, attrs, p, pMin, u.values[r] as number);
    out[2 * r] = draw.id;
    out[2 * r + 1] = draw.logprob;
  }
  return { shape: [rows, 2], dtype: 'float32', values: out };
}

/** One row by the general path: the whole row tempered and weighted, keptSet, the dense blocked draw. */
function generalRow(row: Float32Array, attrs: FusedAttrs, p: number, pMin: number, u: number): Draw {
  const z = temperedRow(row, attrs.temperature);
  if (z === null) return { id: -1, logprob: Number.NaN };
  const vocab = row.length;
  let zmax = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocab; i++) zmax = Math.max(zmax, z[i] as number);
  const { w, idx, n } = keptSet(z, zmax, attrs.k, p);
  if (keptDense.length < vocab) keptDense = new Float32Array(vocab);
  const kept = keptDense.subarray(0, vocab);
  kept.fill(0);
  for (let j = 0; j < n; j++) {
    const i = idx[j] as number;
    if ((w[i] as number) >= pMin) kept[i] = w[i] as number;
  }
  return drawDense(kept, u);
}
