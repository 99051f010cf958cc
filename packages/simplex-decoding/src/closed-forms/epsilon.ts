import { checkRange, softmax, type Tensor, tf } from '@tessera/tensor-core';
import { asRows, checkOptions, checkTemperature, restoreShape, validateLogits } from '../logits.js';
import { softmaxOver, tempered } from './support.js';

/** Options of `epsilon`. */
export interface EpsilonOptions {
  /** Absolute cut eps ∈ [0, 1): drop tokens with probability < eps (the top token always stays). */
  eps: number;
  /** T > 0 (default 1), applied first (HF order). */
  temperature?: number;
}

/** Epsilon support of tempered logits `z: [B, V]` → bool `[B, V]`: `p ≥ eps`, or a largest logit (HF's rule). */
export function epsilonMask(z: Tensor, eps: number): Tensor {
  const probs = softmax(z);
  return tf.logicalOr(tf.greaterEqual(probs, tf.scalar(eps, 'float32')), tf.greaterEqual(z, tf.max(z, 1, true)));
}

/**
 * Epsilon sampling (Hewitt et al. 2022, "Truncation Sampling as Language Model Desmoothing"):
 * softmax(s / T) renormalised over `{v : p(v) ≥ eps} ∪ {argmax}`, p = softmax(s / T) — HF's
 * EpsilonLogitsWarper (min_tokens_to_keep = 1: every token tied with the top logit is kept). Objective:
 * `max ⟨q, s⟩ − T·Σ q log q` over `C = {q ∈ Δ : q(v) = 0 off that set}`.
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape. Difference from HF: eps = 0 is accepted (keeps
 * every token, = softmax); HF requires eps > 0.
 */
export function epsilon(logits: Tensor, opts: EpsilonOptions): Tensor {
  const { batched } = validateLogits(logits);
  const o = checkOptions(opts, '{ eps, temperature? }');
  const eps = checkRange(o.eps, { min: 0, max: 1, maxExclusive: true }, 'eps');
  const temperature = checkTemperature(o.temperature ?? 1);
  return tf.tidy(() => {
    const z = tempered(asRows(logits), temperature);
    return restoreShape(softmaxOver(z, epsilonMask(z, eps)), batched);
  });
}
