import type { HostTensor } from '@tessera/tensor-core';
import { keptPrefix, keptSet, temperedRow } from '../fused/host.js';
import { topKBuffers, topKOfRow } from '../fused/top-candidates.js';
import type { TruncatedAttrs } from './reference.js';

const f32 = Math.fround;

/** Scratch of the top-k path: the top-k's weights and positions, grown on demand. */
let topWeights = new Float32Array(0);
let topPositions = new Int32Array(0);

/**
 * One row `q` when 0 < k < V: the top-k by `topKOfRow` (one read of the row, exp on the k kept values
 * only), then the nucleus on them — the same set and weights as the whole-row path below. False when
 * the row holds a NaN or +∞, which that path's rules handle.
 */
function topKRow(row: Float32Array, q: Float32Array, temperature: number, k: number, p: number): boolean {
  const { status, zmax } = topKOfRow(row, temperature, k);
  if (status !== 'ok') return false;
  if (zmax === Number.NEGATIVE_INFINITY) {
    q.fill(Number.NaN);
    return true;
  }
  if (topWeights.length < k) {
    topWeights = new Float32Array(k);
    topPositions = new Int32Array(k);
  }
  const { z, ids } = topKBuffers;
  const w = topWeights;
  const idx = topPositions;
  for (let j = 0; j < k; j++) {
    w[j] = Math.exp(f32((z[j] as number) - zmax));
    idx[j] = j;
  }
  let n = k;
  if (p < 1) {
    let total = 0;
    for (let j = 0; j < k; j++) total += w[j] as number;
    // positions are in increasing token id, so keptPrefix's tie order is the token order; ≥ 1 kept as below
    n = Math.max(keptPrefix(idx, k, z, w, f32(p * f32(total))), 1);
  }
  let mass = 0;
  for (let a = 0; a < n; a++) mass += w[idx[a] as number] as number;
  for (let a = 0; a < n; a++) {
    const j = idx[a] as number;
    q[ids[j] as number] = (w[j] as number) / mass;
  }
  return true;
}

/**
 * The truncated softmax on typed arrays, with the fused sampler's host selection (fused/host.ts): per
 * row, z = s / T under the non-finite rules, top-k and then the nucleus by weighted quickselect — a token
 * is kept when the mass ranked strictly above it (z desc, id asc) is below p·M, M the mass of the top-k
 * set: HF's rule, Σ of the ranks at or below it > 1 − p, in exact arithmetic — and q = w / Σ_kept w with
 * w = exp(z − max). Expected O(V) a row, no sort; with top-k on, finite rows take `topKRow`. A row holding
 * a NaN, or no finite logit, is NaN. `logits: [B, V]` → `[B, V]`.
 */
export function truncatedSoftmaxHost(logits: HostTensor, { temperature, k, p }: TruncatedAttrs): HostTensor {
  const [rows, vocab] = logits.shape as [number, number];
  const values = logits.values as Float32Array;
  const out = new Float32Array(rows * vocab);
  const pf = f32(p);
  for (let r = 0; r < rows; r++) {
    const q = out.subarray(r * vocab, (r + 1) * vocab);
    const row = values.subarray(r * vocab, (r + 1) * vocab);
    if (k > 0 && k < vocab && topKRow(row, q, temperature, k, pf)) continue;
    const z = temperedRow(row, temperature);
    let zmax = Number.NEGATIVE_INFINITY;
    if (z !== null) for (let i = 0; i < vocab; i++) zmax = Math.max(zmax, z[i] as number);
    if (z === null || zmax === Number.NEGATIVE_INFINITY) {
      q.fill(Number.NaN);
      continue;
    }
    const kept = keptSet(z, zmax, k, pf);
    const { w, idx } = kept;
    // the top token is always kept, even where p·M rounds to 0 (p below float32's smallest subnormal): a
    // keptPrefix that keeps nothing has left the top-ranked token first
    const n = Math.max(kept.n, 1);
    let mass = 0;
    for (let j = 0; j < n; j++) mass += w[idx[j] as number] as number;
    for (let j = 0; j < n; j++) {
      const i = idx[j] as number;
      q[i] = (w[i] as number) / mass;
    }
  }
  return { shape: [rows, vocab], dtype: 'float32', values: out };
}
