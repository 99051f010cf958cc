import { type Tensor, tf } from '@tessera/tensor-core';
import { asRows, checkOptions, checkTemperature, checkTopK, restoreShape, validateLogits } from '../logits.js';
import { keepTopCount, softmaxOver, tempered } from './support.js';

/** Options of `topK`. */
export interface TopKOptions {
  /** Number of kept tokens, an integer in [1, V]. */
  k: number;
  /** T > 0 (default 1). */
  temperature?: number;
}

/**
 * The top-k set of `z: [B, V]` as bool `[B, V]`: exactly k tokens with the largest values, ties at the
 * boundary broken by lower token id.
 */
export function topKMask(z: Tensor, k: number): Tensor {
  const kth = tf.slice(tf.topk(z, k).values, [0, k - 1], [-1, 1]);
  return keepTopCount(z, kth, tf.fill(kth.shape, k, 'float32'));
}

/**
 * Top-k sampling distribution: softmax(s / T) renormalised over the k highest logits. Objective:
 * `max ⟨q, s⟩ − T·Σ q log q` over `C = {q ∈ Δ : q(v) = 0 for v ∉ V_k}` (paper §3.3): the entropic
 * optimum on a face of the simplex.
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape, exactly k tokens in the support (fewer
 * non-zeros if some of them are −∞). Deliberate difference from HF's TopKLogitsWarper: HF keeps every
 * token tied with the k-th largest value (so more than k); we keep exactly k, lower token ids first.
 * With distinct logits the two agree.
 */
export function topK(logits: Tensor, opts: TopKOptions): Tensor {
  const { vocab, batched } = validateLogits(logits);
  const o = checkOptions(opts, '{ k, temperature? }');
  const k = checkTopK(o.k, vocab);
  const temperature = checkTemperature(o.temperature ?? 1);
  return tf.tidy(() => {
    const z = tempered(asRows(logits), temperature);
    return restoreShape(softmaxOver(z, topKMask(z, k)), batched);
  });
}
