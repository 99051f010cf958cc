import { logSoftmax, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';

/**
 * One exponentiated-gradient step in log space (arXiv 2602.18292, Eq. 13 with the max-subtracted
 * normalisation of Algorithm 1, lines 6–8): log q' = logSoftmax(log q + η g). `logQ, g: [B, V]` or `[V]`;
 * `eta` a number or a per-row `[B, 1]` tensor. Coordinates with log q = −∞ stay −∞: the multiplicative
 * update never leaves the face of the simplex q starts on, and masking them also keeps a gradient that
 * is ±∞ or NaN at q = 0 (log q, as in any KL term) from turning −∞ + ∞ into NaN.
 */
export function mirrorStep(logQ: Tensor, g: Tensor, eta: number | Tensor): Tensor {
  return tf.tidy(() => {
    const outside = tf.equal(logQ, Number.NEGATIVE_INFINITY);
    const moved = tf.where(outside, logQ, tf.add(logQ, tf.mul(g, eta)));
    return logSoftmax(moved);
  });
}
