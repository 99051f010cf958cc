import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * Inverse CDF in tfjs ops (the oracle of the kernels): for `w: [B, V]` nonnegative weights and uniforms
 * `u: [B]`, the smallest id with cumsum(w) > u·Σw, else the last positive token; `[B, 2]` float32 rows
 * (id, log(w_id / Σw)), (−1, NaN) for a row that is not a distribution (no positive weight, or a
 * negative, NaN or +∞ weight). Its cumsum adds in its own order,
 * so on a knife-edge draw it may differ from the kernels' blocked order by one token. Counts rather
 * than argMax locate the crossing: tfjs' WebGPU argMax does not return the first of tied maxima.
 */
export function inverseCdfReference(w: Tensor, u: Tensor): Tensor {
  return tf.tidy(() => {
    const [rows, vocab] = w.shape as [number, number];
    const total = tf.sum(w, 1, true);
    const countWhere = (mask: Tensor): Tensor => tf.sum(tf.cast(mask, 'int32'), 1);
    // the cumsum is nondecreasing, so the first id above the target = the number of entries at or below it
    const below = countWhere(tf.lessEqual(tf.cumsum(w, 1), tf.mul(tf.reshape(u, [-1, 1]), total)));
    const trailingZeros = countWhere(tf.lessEqual(tf.cumsum(w, 1, false, true), 0));
    const last = tf.sub(tf.scalar(vocab - 1, 'int32'), trailingZeros);
    const picked = tf.minimum(below, last);
    // w ≥ 0 is false for NaN; a +∞ weight makes the total +∞
    const nonnegative = tf.all(tf.greaterEqual(w, 0), 1, true);
    const valid = tf.reshape(tf.logicalAnd(tf.logicalAnd(tf.greater(total, 0), tf.isFinite(total)), nonnegative), [-1]);
    const id = tf.where(valid, picked, tf.fill([rows], -1, 'int32'));
    const flat = tf.add(tf.maximum(id, tf.scalar(0, 'int32')), tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32')));
    const chosen = tf.gather(tf.reshape(w, [-1]), flat);
    const logprob = tf.sub(tf.log(chosen), tf.log(tf.reshape(total, [-1])));
    return tf.stack([tf.cast(id, 'float32'), tf.where(valid, logprob, tf.fill([rows], Number.NaN, 'float32'))], 1);
  });
}
