import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { kthLargestOp } from './op.js';
import type { BoundBokSettings } from './validate.js';

/**
 * Coverage weights w `[B, V]` (or a user `[V]` row, broadcast later) from the tempered log-probabilities
 * `logP: [B, V]`. 'uniform-top-r' puts 1 on every token whose probability is at least the r-th largest of
 * its row, so tokens tied with the r-th all get weight (no tie-break by position is needed), and 0 on
 * masked tokens even when r exceeds the unmasked count.
 */
export function coverageWeights(logP: Tensor, settings: BoundBokSettings): Tensor {
  const { weights, r } = settings;
  if (weights === 'prob') return tf.exp(logP);
  if (weights !== 'uniform-top-r') return tf.clone(weights);
  return tf.tidy(() => {
    const threshold = kthLargestOp({ x: logP }, { k: r });
    const kept = tf.logicalAnd(tf.greaterEqual(logP, threshold), tf.greater(logP, Number.NEGATIVE_INFINITY));
    // a select rather than tf.cast: WebGPU's bool → float32 cast keeps the boolean buffer, which a
    // kernel binding w as array<f32> cannot read
    return tf.where(kept, tf.onesLike(logP), tf.zerosLike(logP));
  });
}

/** An upper bound of each row's largest weight, for the default step size: 1 for the built-in weights. */
export function weightBound(w: Tensor, settings: BoundBokSettings): number | Tensor {
  if (typeof settings.weights === 'string') return 1;
  return tf.max(w, -1, true);
}
