import { checkRange, softmax, type Tensor, tf } from '@tessera/tensor-core';
import { asRows, checkOptions, checkTemperature, restoreShape, validateLogits } from '../logits.js';
import { softmaxOver, tempered } from './support.js';

/** Options of `minP`. */
export interface MinPOptions {
  /** Relative threshold pMin ∈ [0, 1]: keep tokens with probability ≥ pMin · (the row's max probability). */
  pMin: number;
  /** T > 0 (default 1), applied first (HF order). */
  temperature?: number;
}

/** Min-p support of tempered logits `z: [B, V]` → bool `[B, V]`: HF's `probs ≥ pMin · max probs` in float32. */
export function minPMask(z: Tensor, pMin: number): Tensor {
  const probs = softmax(z);
  return tf.greaterEqual(probs, tf.mul(tf.max(probs, 1, true), tf.scalar(pMin, 'float32')));
}

/**
 * Min-p distribution: softmax(s / T) renormalised over `{v : p(v) ≥ pMin · max_u p(u)}`, p = softmax(s / T)
 * (HF's MinPLogitsWarper after TemperatureLogitsWarper). Objective: `max ⟨q, s⟩ − T·Σ q log q` over
 * `C = {q ∈ Δ : q(v) = 0 off that set}`. The row's top token always qualifies (pMin ≤ 1).
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape. pMin = 0 keeps every token (= softmax).
 */
export function minP(logits: Tensor, opts: MinPOptions): Tensor {
  const { batched } = validateLogits(logits);
  const o = checkOptions(opts, '{ pMin, temperature? }');
  const pMin = checkRange(o.pMin, { min: 0, max: 1 }, 'pMin');
  const temperature = checkTemperature(o.temperature ?? 1);
  return tf.tidy(() => {
    const z = tempered(asRows(logits), temperature);
    return restoreShape(softmaxOver(z, minPMask(z, pMin)), batched);
  });
}
