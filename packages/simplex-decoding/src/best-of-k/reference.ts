import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { BoundBokSettings } from './validate.js';
import { defaultStepSize } from './step-size.js';
import { coverageWeights, weightBound } from './weights.js';

/**
 * Algorithm 1 of arXiv 2602.18292 as written, in probability space with tfjs' own ops: the oracle for
 * `bestOfKRows` and the "plain tfjs composite" of the benchmarks. `logits: [B, V]` → q `[B, V]`.
 * q₀ = p; g = s − λ(log(q/p) + 1) + β̄ w K (1 − q)^{K−1} (Eq. 21); M = max ηg; q ← q ⊙ exp(ηg − M), normalised
 * (Eqs. 22–23). The update runs on the face where q > 0 (the paper's footnote 4), so zeros stay zero.
 */
export function bestOfKReference(logits: Tensor, settings: BoundBokSettings): Tensor {
  const { k, lambda, betaBar, steps, temperature } = settings;
  return tf.tidy(() => {
    const p = tf.softmax(tf.div(logits, temperature));
    const s = tf.logSoftmax(tf.div(logits, temperature));
    const w = coverageWeights(s, settings);
    const eta = settings.eta ?? defaultStepSize(lambda, betaBar, k, weightBound(w, settings));
    let q = p;
    for (let j = 0; j < steps; j++) {
      const current = q;
      q = tf.tidy(() => {
        const kl = tf.mul(lambda, tf.add(tf.log(tf.div(current, p)), 1));
        const coverage = tf.mul(tf.mul(w, betaBar * k), tf.pow(tf.sub(1, current), k - 1));
        const g = tf.add(tf.sub(s, kl), coverage);
        const support = tf.greater(current, 0);
        const scaled = tf.where(support, tf.mul(eta, g), Number.NEGATIVE_INFINITY);
        const m = tf.max(scaled, -1, true);
        const tilde = tf.where(support, tf.mul(current, tf.exp(tf.sub(scaled, m))), 0);
        return tf.div(tilde, tf.sum(tilde, -1, true));
      });
      if (current !== p) current.dispose();
    }
    return q;
  });
}
