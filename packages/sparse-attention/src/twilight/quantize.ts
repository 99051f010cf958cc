import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * Twilight's `min_max_per_token_quant_kv` (papers/sparse.md B.4), as fake quantisation: per token (over
 * the head dimension) s = (max − min)/(2^b − 1), x̂ = clamp(round((x − min)/s), 0, 2^b − 1)·s + min. A
 * constant token (s = 0) is kept as it is. `[..., D] → [..., D]`.
 */
export function minMaxQuantize(x: Tensor, bits: number): Tensor {
  return tf.tidy(() => {
    const levels = 2 ** bits - 1;
    const lo = tf.min(x, -1, true);
    const step = tf.div(tf.sub(tf.max(x, -1, true), lo), levels);
    const safe = tf.where(tf.greater(step, 0), step, tf.onesLike(step));
    const q = tf.clipByValue(tf.round(tf.div(tf.sub(x, lo), safe)), 0, levels);
    return tf.where(tf.broadcastTo(tf.greater(step, 0), x.shape), tf.add(tf.mul(q, safe), lo), x);
  });
}
