import type { HostTensor } from '@tessera/tensor-core';
import { KeyRanges } from './key-ranges.host.js';
import type { FlashAttrs, FlashInput } from './reference.js';

/** Keys scored per online-softmax step: one rescale of the accumulator per chunk rather than per key. */
const HOST_CHUNK = 64;

/**
 * Scores of one query row (`qRow`, float64) against `len` consecutive keys from `kOff`, times `scale`,
 * into `scores`; returns their maximum. Four keys per pass share each query load and give four
 * independent add chains (one chain is bound by the add latency, not by the loads).
 */
function scoreChunk(
  qRow: Float64Array,
  k: Float32Array,
  kOff: number,
  d: number,
  len: number,
  scale: number,
  scores: Float64Array,
): number {
  let max = Number.NEGATIVE_INFINITY;
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const k0 = kOff + j * d;
    const k1 = k0 + d;
    const k2 = k1 + d;
    const k3 = k2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let x = 0; x < d; x++) {
      const qx = qRow[x] as number;
      s0 += qx * (k[k0 + x] as number);
      s1 += qx * (k[k1 + x] as number);
      s2 += qx * (k[k2 + x] as number);
      s3 += qx * (k[k3 + x] as number);
    }
    s0 *= scale;
    s1 *= scale;
    s2 *= scale;
    s3 *= scale;
    scores[j] = s0;
    scores[j + 1] = s1;
    scores[j + 2] = s2;
    scores[j + 3] = s3;
    max = Math.max(max, s0, s1, s2, s3);
  }
  for (; j < len; j++) {
    const k0 = kOff + j * d;
    let s = 0;
    for (let x = 0; x < d; x++) s += (qRow[x] as number) * (k[k0 + x] as number);
    s *= scale;
    scores[j] = s;
    if (s > max) max = s;
  }
  return max;
}

/**
 * acc += Σⱼ exp(scoresⱼ − m) · v[j] over `len` keys from `vOff`; returns Σⱼ exp(scoresⱼ − m). Four keys
 * per pass: one load and store of the accumulator per four value rows.
 */
function accumulateChunk(
  v: Float32Array,
  vOff: number,
  d: number,
  len: number,
  m: number,
  scores: Float64Array,
  acc: Float64Array,
): number {
  let sum = 0;
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const p0 = Math.exp((scores[j] as number) - m);
    const p1 = Math.exp((scores[j + 1] as number) - m);
    const p2 = Math.exp((scores[j + 2] as number) - m);
    const p3 = Math.exp((scores[j + 3] as number) - m);
    sum += p0 + p1 + p2 + p3;
    const v0 = vOff + j * d;
    const v1 = v0 + d;
    const v2 = v1 + d;
    const v3 = v2 + d;
    for (let x = 0; x < d; x++) {
      acc[x] =
        (acc[x] as number) +
        p0 * (v[v0 + x] as number) +
        p1 * (v[v1 + x] as number) +
        p2 * (v[v2 + x] as number) +
        p3 * (v[v3 + x] as number);
    }
  }
  for (; j < len; j++) {
    const p = Math.exp((scores[j] as number) - m);
    sum += p;
    const v0 = vOff + j * d;
    for (let x = 0; x < d; x++) acc[x] = (acc[x] as number) + p * (v[v0 + x] as number);
  }
  return sum;
}

/**
 * Scores of two query rows against `len` consecutive keys from `kOff`, times `scale`, into `scores0` and
 * `scores1`; their maxima into `maxima`. A 2 × 4 tile of independent add chains: each key load serves
 * both rows, each query load four keys.
 */
function scorePair(
  q0: Float64Array,
  q1: Float64Array,
  k: Float32Array,
  kOff: number,
  d: number,
  len: number,
  scale: number,
  scores0: Float64Array,
  scores1: Float64Array,
  maxima: Float64Array,
): void {
  let max0 = Number.NEGATIVE_INFINITY;
  let max1 = Number.NEGATIVE_INFINITY;
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const k0 = kOff + j * d;
    const k1 = k0 + d;
    const k2 = k1 + d;
    const k3 = k2 + d;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    for (let x = 0; x < d; x++) {
      const qa = q0[x] as number;
      const qb = q1[x] as number;
      const y0 = k[k0 + x] as number;
      const y1 = k[k1 + x] as number;
      const y2 = k[k2 + x] as number;
      const y3 = k[k3 + x] as number;
      a0 += qa * y0;
      a1 += qa * y1;
      a2 += qa * y2;
      a3 += qa * y3;
      b0 += qb * y0;
      b1 += qb * y1;
      b2 += qb * y2;
      b3 += qb * y3;
    }
    a0 *= scale;
    a1 *= scale;
    a2 *= scale;
    a3 *= scale;
    b0 *= scale;
    b1 *= scale;
    b2 *= scale;
    b3 *= scale;
    scores0[j] = a0;
    scores0[j + 1] = a1;
    scores0[j + 2] = a2;
    scores0[j + 3] = a3;
    scores1[j] = b0;
    scores1[j + 1] = b1;
    scores1[j + 2] = b2;
    scores1[j + 3] = b3;
    max0 = Math.max(max0, a0, a1, a2, a3);
    max1 = Math.max(max1, b0, b1, b2, b3);
  }
  for (; j < len; j++) {
    const k0 = kOff + j * d;
    let a = 0;
    let b = 0;
    for (let x = 0; x < d; x++) {
      const y = k[k0 + x] as number;
      a += (q0[x] as number) * y;
      b += (q1[x] as number) * y;
    }
    a *= scale;
    b *= scale;
    scores0[j] = a;
    scores1[j] = b;
    if (a > max0) max0 = a;
    if (b > max1) max1 = b;
  }
  maxima[0] = max0;
  maxima[1] = max1;
}

/**
 * `accumulateChunk` for two rows: acc0 += Σⱼ exp(scores0ⱼ − m0) · v[j], acc1 likewise; the two sums of
 * weights into `sums`. Each value load serves both rows.
 */
function accumulatePair(
  v: Float32Array,
  vOff: number,
  d: number,
  len: number,
  m0: number,
  m1: number,
  scores0: Float64Array,
  scores1: Float64Array,
  acc0: Float64Array,
  acc1: Float64Array,
  sums: Float64Array,
): void {
  let sum0 = 0;
  let sum1 = 0;
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const p0 = Math.exp((scores0[j] as number) - m0);
    const p1 = Math.exp((scores0[j + 1] as number) - m0);
    const p2 = Math.exp((scores0[j + 2] as number) - m0);
    const p3 = Math.exp((scores0[j + 3] as number) - m0);
    const r0 = Math.exp((scores1[j] as number) - m1);
    const r1 = Math.exp((scores1[j + 1] as number) - m1);
    const r2 = Math.exp((scores1[j + 2] as number) - m1);
    const r3 = Math.exp((scores1[j + 3] as number) - m1);
    sum0 += p0 + p1 + p2 + p3;
    sum1 += r0 + r1 + r2 + r3;
    const v0 = vOff + j * d;
    const v1 = v0 + d;
    const v2 = v1 + d;
    const v3 = v2 + d;
    for (let x = 0; x < d; x++) {
      const y0 = v[v0 + x] as number;
      const y1 = v[v1 + x] as number;
      const y2 = v[v2 + x] as number;
      const y3 = v[v3 + x] as number;
      acc0[x] = (acc0[x] as number) + p0 * y0 + p1 * y1 + p2 * y2 + p3 * y3;
      acc1[x] = (acc1[x] as number) + r0 * y0 + r1 * y1 + r2 * y2 + r3 * y3;
    }
  }
  for (; j < len; j++) {
    const p = Math.exp((scores0[j] as number) - m0);
    const r = Math.exp((scores1[j] as number) - m1);
    sum0 += p;
    sum1 += r;
    const v0 = vOff + j * d;
    for (let x = 0; x < d; x++) {
      const y = v[v0 + x] as number;
      acc0[x] = (acc0[x] as number) + p * y;
      acc1[x] = (acc1[x] as number) + r * y;
    }
  }
  sums[0] = sum0;
  sums[1] = sum1;
}

/** Per-call scratch of the row kernels (float64: the accumulators cost nothing extra in JS). */
interface Scratch {
  q0: Float64Array;
  q1: Float64Array;
  acc0: Float64Array;
  acc1: Float64Array;
  scores0: Float64Array;
  scores1: Float64Array;
  /** `scorePair`'s maxima, then `accumulatePair`'s sums. */
  pair: Float64Array;
}

/** Rescales a row's accumulator by exp(m − max) when a chunk raises its running maximum m; returns the new l. */
function rescale(acc: Float64Array, d: number, m: number, max: number, l: number): number {
  if (l === 0) return 0;
  const factor = Math.exp(m - max);
  for (let x = 0; x < d; x++) acc[x] = (acc[x] as number) * factor;
  return l * factor;
}

/** Writes a finished row (acc / l at `oOff`; left 0 when l = 0) and returns its log-sum-exp (−∞ when l = 0). */
function finishRow(acc: Float64Array, d: number, m: number, l: number, out: Float32Array, oOff: number): number {
  if (l === 0) return Number.NEGATIVE_INFINITY;
  const inv = 1 / l;
  for (let x = 0; x < d; x++) out[oOff + x] = (acc[x] as number) * inv;
  return m + Math.log(l);
}

/**
 * Query rows i and i + 1 (`qOff` is row i's offset; `pair` false: row i alone): an online softmax
 * (FlashAttention-2's forward) per row over the keys of `ranges` below the row's limit (j ≤ i when
 * causal), `HOST_CHUNK` keys per step, the keys both rows see as 2-row tiles and the rest (row i + 1's
 * diagonal key when causal) as single rows. Writes the output rows (left 0 for a row that sees no key) and
 * their log-sum-exp (−∞ then) at `row`, as the reference defines both.
 */
function forwardRows(
  pair: boolean,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  row: number,
  kvOff: number,
  d: number,
  ranges: KeyRanges,
  count: number,
  limit0: number,
  limit1: number,
  scale: number,
  out: Float32Array,
  lse: Float32Array,
  s: Scratch,
): void {
  const qOff = row * d;
  for (let x = 0; x < d; x++) s.q0[x] = q[qOff + x] as number;
  s.acc0.fill(0);
  if (pair) {
    for (let x = 0; x < d; x++) s.q1[x] = q[qOff + d + x] as number;
    s.acc1.fill(0);
  }
  let m0 = Number.NEGATIVE_INFINITY;
  let l0 = 0;
  let m1 = Number.NEGATIVE_INFINITY;
  let l1 = 0;
  const bounds = ranges.bounds;
  for (let r = 0; r < count; r++) {
    const start = bounds[2 * r] as number;
    const end = bounds[2 * r + 1] as number;
    const shared = Math.min(end, limit0);
    for (let c = start; c < shared; c += HOST_CHUNK) {
      const len = Math.min(HOST_CHUNK, shared - c);
      if (pair) {
        scorePair(s.q0, s.q1, k, kvOff + c * d, d, len, scale, s.scores0, s.scores1, s.pair);
        const max0 = s.pair[0] as number;
        const max1 = s.pair[1] as number;
        if (max0 > m0) {
          l0 = rescale(s.acc0, d, m0, max0, l0);
          m0 = max0;
        }
        if (max1 > m1) {
          l1 = rescale(s.acc1, d, m1, max1, l1);
          m1 = max1;
        }
        accumulatePair(v, kvOff + c * d, d, len, m0, m1, s.scores0, s.scores1, s.acc0, s.acc1, s.pair);
        l0 += s.pair[0] as number;
        l1 += s.pair[1] as number;
      } else {
        const max0 = scoreChunk(s.q0, k, kvOff + c * d, d, len, scale, s.scores0);
        if (max0 > m0) {
          l0 = rescale(s.acc0, d, m0, max0, l0);
          m0 = max0;
        }
        l0 += accumulateChunk(v, kvOff + c * d, d, len, m0, s.scores0, s.acc0);
      }
    }
    if (!pair) continue;
    // keys row i + 1 sees and row i does not (causal: key i + 1 at most)
    const solo = Math.min(end, limit1);
    for (let c = Math.max(start, shared); c < solo; c += HOST_CHUNK) {
      const len = Math.min(HOST_CHUNK, solo - c);
      const max1 = scoreChunk(s.q1, k, kvOff + c * d, d, len, scale, s.scores1);
      if (max1 > m1) {
        l1 = rescale(s.acc1, d, m1, max1, l1);
        m1 = max1;
      }
      l1 += accumulateChunk(v, kvOff + c * d, d, len, m1, s.scores1, s.acc1);
    }
  }
  lse[row] = finishRow(s.acc0, d, m0, l0, out, qOff);
  if (pair) lse[row + 1] = finishRow(s.acc1, d, m1, l1, out, qOff + d);
}

/**
 * The flash op's forward on host arrays (cpu, wasm): `[output [B, H, Lq, D], lse [B, H, Lq]]` as
 * `flashReference` computes them, without its Lq × Lk score matrix. Per head and query block, the kept key
 * ranges (`KeyRanges`: all keys when dense, the listed blocks when sparse) are read once; its query rows
 * then run, two at a time, an online softmax over them in chunks of `HOST_CHUNK` keys, in float64, each
 * stopping at key i when causal (key j visible to query i iff j ≤ i, for any Lq and Lk, as the
 * reference's triangle).
 */
export function flashForwardHost(t: Record<FlashInput, HostTensor>, attrs: FlashAttrs): HostTensor[] {
  const [batch, heads, lq, d] = t.q.shape as [number, number, number, number];
  const lk = t.k.shape[2] as number;
  const q = t.q.values as Float32Array;
  const k = t.k.values as Float32Array;
  const v = t.v.values as Float32Array;
  const out = new Float32Array(batch * heads * lq * d);
  const lse = new Float32Array(batch * heads * lq);
  const ranges = new KeyRanges(t, attrs, lk);
  const scratch: Scratch = {
    q0: new Float64Array(d),
    q1: new Float64Array(d),
    acc0: new Float64Array(d),
    acc1: new Float64Array(d),
    scores0: new Float64Array(HOST_CHUNK),
    scores1: new Float64Array(HOST_CHUNK),
    pair: new Float64Array(2),
  };
  const { causal, scale } = attrs;
  // dense: one query block of every row, whose range is all keys
  const rowsPerBlock = attrs.sparse ? attrs.bq : lq;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const head = b * heads + h;
      const kvOff = head * lk * d;
      for (let qBlock = 0; qBlock * rowsPerBlock < lq; qBlock++) {
        const count = ranges.read(b, h, qBlock);
        const rowEnd = Math.min(lq, (qBlock + 1) * rowsPerBlock);
        // rows in pairs within the block (they share its key ranges)
        for (let i = qBlock * rowsPerBlock; i < rowEnd; i += 2) {
          const pair = i + 1 < rowEnd;
          const limit0 = causal ? Math.min(i + 1, lk) : lk;
          const limit1 = causal ? Math.min(i + 2, lk) : lk;
          forwardRows(pair, q, k, v, head * lq + i, kvOff, d, ranges, count, limit0, limit1, scale, out, lse, scratch);
        }
      }
    }
  }
  return [
    { shape: [batch, heads, lq, d], dtype: 'float32', values: out },
    { shape: [batch, heads, lq], dtype: 'float32', values: lse },
  ];
}
