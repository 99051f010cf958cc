import { softmax, type Tensor, tf } from '@tessera/tensor-core';
import { asRows, checkOptions, checkTemperature, checkTopP, restoreShape, validateLogits } from '../logits.js';
import { keepTopCount, gatherRows, softmaxOver, tempered } from './support.js';

/** Options of `topP`. */
export interface TopPOptions {
  /** Nucleus mass p ∈ (0, 1]. */
  p: number;
  /** T > 0 (default 1), applied before the nucleus is chosen (HF order). */
  temperature?: number;
}

/**
 * The nucleus of `z: [B, V]` (tempered logits) as bool `[B, V]`. Tokens are ranked by `z` (ties:
 * lower token id first); with `p = softmax(z)` in that order, the nucleus is the first `m` tokens, `m`
 * = #{i : Σ_{j ≥ i} p_(j) > 1 − p} ≥ 1 — HF's rule (`cumulative_probs <= 1 − top_p` removed, over the
 * ascending sort, summed from the smallest as HF does). In exact arithmetic Σ_{j ≥ i} p_(j) = 1 − Σ_{j<i}
 * p_(j), so a token is kept iff the mass ranked strictly above it is < p: the token crossing p is kept.
 */
export function nucleusMask(z: Tensor, p: number): Tensor {
  const vocab = z.shape[1] as number;
  const sorted = tf.topk(z, vocab).values;
  // reverse cumsum over the descending order = HF's ascending cumsum, summed in the same order; done as a
  // forward cumsum of the reversed row because tfjs-webgpu 4.22's reverse cumsum drops terms
  const tail = tf.reverse(tf.cumsum(tf.reverse(softmax(sorted), 1), 1), 1);
  const kept = tf.sum(tf.cast(tf.greater(tail, tf.scalar(1 - p, 'float32')), 'int32'), 1, true);
  const count = tf.maximum(kept, tf.scalar(1, 'int32'));
  const threshold = gatherRows(sorted, tf.sub(count, tf.scalar(1, 'int32')));
  return keepTopCount(z, threshold, tf.cast(count, 'float32'));
}

/**
 * Nucleus (top-p) distribution: softmax(s / T) renormalised over the nucleus chosen from the tempered
 * model distribution softmax(s / T) (HF applies TemperatureLogitsWarper before TopPLogitsWarper).
 * Objective: `max ⟨q, s⟩ − T·Σ q log q` over `C = {q ∈ Δ : q(v) = 0 for v ∉ V_p}` (paper §3.4).
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape. Always ≥ 1 token. Deliberate difference from
 * HF: tokens with equal logits are ranked by lower token id (HF's unstable `torch.sort` leaves their
 * order unspecified), which changes the result only when such a tie straddles the cut.
 */
export function topP(logits: Tensor, opts: TopPOptions): Tensor {
  const { batched } = validateLogits(logits);
  const o = checkOptions(opts, '{ p, temperature? }');
  const p = checkTopP(o.p);
  const temperature = checkTemperature(o.temperature ?? 1);
  return tf.tidy(() => {
    const z = tempered(asRows(logits), temperature);
    return restoreShape(softmaxOver(z, nucleusMask(z, p)), batched);
  });
}
