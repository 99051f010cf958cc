import type { HostTensor } from '@tessera/tensor-core';
import { keptSet, temperedRow } from '../fused/host.js';
import type { TruncatedAttrs } from './reference.js';

const f32 = Math.fround;

/**
 * The truncated softmax on typed arrays, with the fused sampler's host selection (fused/host.ts): per
 * row, z = s / T under the non-finite rules, top-k and then the nucleus by weighted quickselect — a token
 * is kept when the mass ranked strictly above it (z desc, id asc) is below p·M, M the mass of the top-k
 * set: HF's rule, Σ of the ranks at or below it > 1 − p, in exact arithmetic — and q = w / Σ_kept w with
 * w = exp(z − max). Expected O(V) a row, no sort. A row holding a NaN, or no finite logit, is NaN.
 * `logits: [B, V]` → `[B, V]`.
 */
export function truncatedSoftmaxHost(logits: HostTensor, { temperature, k, p }: TruncatedAttrs): HostTensor {
  const [rows, vocab] = logits.shape as [number, number];
  const values = logits.values as Float32Array;
  const out = new Float32Array(rows * vocab);
  const pf = f32(p);
  for (let r = 0; r < rows; r++) {
    const q = out.subarray(r * vocab, (r + 1) * vocab);
    const z = temperedRow(values.subarray(r * vocab, (r + 1) * vocab), temperature);
    let zmax = Number.NEGATIVE_INFINITY;
    if (z !== null) for (let i = 0; i < vocab; i++) zmax = Math.max(zmax, z[i] as number);
    if (z === null || zmax === Number.NEGATIVE_INFINITY) {
      q.fill(Number.NaN);
      continue;
    }
    const kept = keptSet(z, zmax, k, pf);
    const { w, idx } = kept;
    const weight = (i: number): number => w[i] as number;
    // the top token is always kept, even where p·M rounds to 0 (p below float32's smallest subnormal): a
    // keptPrefix that keeps nothing has left the top-ranked token first
    const n = Math.max(kept.n, 1);
    let mass = 0;
    for (let j = 0; j < n; j++) mass += weight(idx[j] as number);
    for (let j = 0; j < n; j++) {
      const i = idx[j] as number;
      q[i] = (w[i] as number) / mass;
    }
  }
  return { shape: [rows, vocab], dtype: 'float32', values: out };
}
