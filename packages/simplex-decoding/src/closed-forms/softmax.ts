import { softmax as rowSoftmax, type Tensor, tf } from '@tessera/tensor-core';
import { asRows, checkOptions, checkTemperature, restoreShape, validateLogits } from '../logits.js';

/** Options of `softmax`. */
export interface SoftmaxOptions {
  /** T > 0 (default 1); T → 0 is `greedy()`. */
  temperature?: number;
}

/**
 * Temperature softmax `q = softmax(s / T)`. Objective: `max ⟨q, s⟩ − T·Ω(q)`, `Ω(q) = Σ q log q`
 * (negative entropy), `C = Δ`, λ = T (paper §3.2, Eq. 6): the unique interior optimum.
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape. Uses tensor-core's softmax (WGSL on WebGPU).
 * −∞ logits are masked tokens (q = 0); an all −∞ row gives NaN; NaN logits propagate (CPU) or give
 * unspecified rows (WebGPU) — validate with `assertNoNaN` where it matters.
 */
export function softmax(logits: Tensor, opts: SoftmaxOptions = {}): Tensor {
  const { batched } = validateLogits(logits);
  const temperature = checkTemperature(checkOptions(opts, '{ temperature? }').temperature ?? 1);
  // the temperature divides inside tensor-core's kernel: one fused two-pass softmax, no extra pass
  return tf.tidy(() => restoreShape(rowSoftmax(asRows(logits), { temperature }), batched));
}
