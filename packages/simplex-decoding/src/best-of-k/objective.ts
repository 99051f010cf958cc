import { checkDtype, describeValue, ShapeError, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { asRows, validateLogits } from '../logits.js';
import { temperedLogProbs } from './log-space.js';
import { type BestOfKOptions, bindBestOfK, resolveBestOfK } from './options.js';
import { coverageWeights } from './weights.js';

/**
 * The Best-of-K objective (arXiv 2602.18292, Eq. 18) at `q`: f(q) = ⟨q, s⟩ − λ KL(q‖p) + β̄ Σ_v w(v)[1 − (1 − q(v))^K],
 * with p = softmax(logits/T), s = log p and β̄ = λβ, as `bestOfK` uses them. `q, logits: [B, V]` → `[B]`
 * (a `[V]` pair gives a scalar). Tokens with q = 0 contribute 0 (0·log 0 = 0); q > 0 where p = 0 gives −∞.
 * 1 − (1 − q)^K is computed as −expm1(K·log1p(−q)), accurate for tiny q.
 */
export function bokObjective(q: Tensor, logits: Tensor, opts: BestOfKOptions): Tensor {
  const { rows, vocab, batched } = validateLogits(logits, 'logits');
  if (q === null || typeof q !== 'object' || !Array.isArray(q.shape) || q.shape.join() !== logits.shape.join()) {
    throw new ShapeError(`q: expected the logits' shape [${logits.shape.join(', ')}], received ${describeValue(q)}`);
  }
  checkDtype(q, 'float32', 'q');
  const settings = bindBestOfK(resolveBestOfK(opts), rows, vocab);
  const { k, lambda, betaBar, temperature } = settings;
  return tf.tidy(() => {
    const q2 = asRows(q);
    const logP = temperedLogProbs(asRows(logits), temperature);
    const positive = tf.greater(q2, 0);
    // s − λ(log q − log p) with s = log p; only evaluated where q > 0, so 0·(−∞) never arises
    const perToken = tf.sub(tf.mul(logP, 1 + lambda), tf.mul(tf.log(q2), lambda));
    const linearAndKl = tf.sum(tf.where(positive, tf.mul(q2, perToken), 0), -1);
    const hit = tf.neg(tf.expm1(tf.mul(tf.log1p(tf.neg(q2)), k)));
    const coverage = tf.sum(tf.mul(coverageWeights(logP, settings), hit), -1);
    const f = tf.add(linearAndKl, tf.mul(coverage, betaBar));
    return batched ? f : tf.reshape(f, []);
  });
}
