import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * The closed forms' rules for non-finite scores in tfjs ops (the oracle of the host kernel): `z: [B, V]`
 * → `[z', nanRows]`, z' with every row that holds a +∞ replaced by its limit (0 on the +∞ tokens, −∞
 * elsewhere), nanRows bool `[B, 1]`: a NaN anywhere in the row, or every token −∞.
 */
export function screenReference(z: Tensor): Tensor[] {
  return tf.tidy(() => {
    const positive = tf.logicalAnd(tf.isInf(z), tf.greater(z, 0));
    const infRows = tf.any(positive, 1, true);
    const limit = tf.where(positive, tf.zerosLike(z), tf.fill(z.shape, Number.NEGATIVE_INFINITY, 'float32'));
    const screened = tf.where(tf.broadcastTo(infRows, z.shape), limit, z);
    const allMasked = tf.all(tf.equal(z, Number.NEGATIVE_INFINITY), 1, true);
    const nanRows = tf.logicalOr(tf.any(tf.isNaN(z), 1, true), allMasked);
    return [screened, nanRows];
  });
}
