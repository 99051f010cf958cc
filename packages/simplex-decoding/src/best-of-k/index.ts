import { checkDtype, checkRange, describeValue, ShapeError, type Tensor, tf, ValueError } from '@tessera/tensor-core';
import { asRows, restoreShape } from '../rows.js';
import { validateLogits } from '../validate.js';
import { bestOfKRows } from './iterate.js';
import { temperedLogProbs } from './log-space.js';
import { coverageCurvature as curvature, defaultStepSize as stepSize } from './step-size.js';
import { type BestOfKOptions, bindBestOfK, resolveBestOfK } from './validate.js';
import { coverageWeights } from './weights.js';

export { BOK_PRESETS, type BokPresetName } from './presets.js';
export { BOK_MAX_STEPS, type BestOfKOptions, type BokWeights } from './validate.js';

/**
 * Best-of-K decoding (arXiv 2602.18292, Section 4.3): the distribution maximising the KL-anchored coverage
 * objective f(q) = ⟨q, s⟩ − λ KL(q‖p) + β̄ Σ_v w(v)[1 − (1 − q(v))^K] (Eq. 17, β̄ = λβ) over the simplex,
 * by J steps of mirror ascent warm-started at p (Algorithm 1). `logits: [B, V]` or `[V]` → q of the same
 * shape, rows summing to 1, exactly 0 on masked (−∞) tokens.
 *
 * Conventions the paper leaves open (its Section 6 questions 1–4, decided here):
 * - p = softmax(logits/T) and s = log p, the tempered log-probabilities: BoK is then anchored to the
 *   sampler the user would otherwise run at temperature T, and as λ → ∞ it returns exactly that
 *   sampler. (s = logits/T gives the same q: it differs from log p by a per-row constant.)
 * - η defaults to 1/L, L = λ + β̄·K·((K−2)/(K−1))^{K−2}·max w (see `defaultStepSize`): every step increases f
 *   and J = 5 steps nearly solve the objective, so results depend on (β, λ), not on J (capped at 1000,
 *   reached only as λ → 0, where the optimum tends to greedy).
 * - weights default to 'uniform-top-r' with r = 2K: K draws cover at most K distinct tokens, so weighting
 *   far more than K only spreads the bonus over tokens that cannot all be hit (the paper warns that
 *   coverage alone pushes mass onto implausible tokens), while r = K would give no bonus to the runner-up
 *   alternatives whose order under p is the least certain at high temperature.
 * Note that with β̄ = 0 the optimum is p^{(1+λ)/λ}, i.e. the softmax at temperature T·λ/(1+λ): the presets
 * (λ = 0.1–0.5) sharpen strongly, which is a large part of BoK's effect at high T.
 * Cost: with the default weights (r ≤ 256, J ≤ 16, η ≤ 1/λ) the J steps collapse to per-row scalars plus
 * the r weighted tokens (log q is affine in log p off them), so on WebGPU the whole call reads the logits
 * twice and writes q once, as a softmax does; other weights take J full log-space steps.
 * Non-finite logits as the closed forms (README, "Non-finite logits"): the tokens at +∞ (after the
 * temperature) are p's whole support and share q (equally with the built-in weights), and a row holding
 * a NaN, or only −∞, is a NaN row — on every backend. No value is read back (`createSampler().sample`
 * rejects NaN and +∞ with the row and token named). `steps` is bounded by `BOK_MAX_STEPS`.
 */
export function bestOfK(logits: Tensor, opts: BestOfKOptions): Tensor {
  const { rows, vocab, batched } = validateLogits(logits, 'logits');
  const settings = bindBestOfK(resolveBestOfK(opts), rows, vocab);
  return tf.tidy(() => restoreShape(bestOfKRows(asRows(logits), settings), batched));
}

/**
 * The Best-of-K objective (arXiv 2602.18292, Eq. 18) at `q`: f(q) = ⟨q, s⟩ − λ KL(q‖p) + β̄ Σ_v w(v)[1 − (1 − q(v))^K],
 * with p = softmax(logits/T), s = log p and β̄ = λβ, as `bestOfK` uses them. `q, logits: [B, V]` → `[B]`
 * (a `[V]` pair gives a scalar). Tokens with q = 0 contribute 0 (0·log 0 = 0); q > 0 where p = 0 gives −∞.
 * 1 − (1 − q)^K is computed as −expm1(K·log1p(−q)), accurate for tiny q. A row of `logits` holding a
 * NaN, or of `q` holding a non-finite value, gives NaN.
 */
export function bokObjective(q: Tensor, logits: Tensor, opts: BestOfKOptions): Tensor {
  const { rows, vocab, batched } = validateLogits(logits, 'logits');
  if (q === null || typeof q !== 'object' || !Array.isArray(q.shape) || q.shape.join() !== logits.shape.join()) {
    throw new ShapeError(`q: expected the logits' shape [${logits.shape.join(', ')}], received ${describeValue(q)}`);
  }
  if (q.isDisposed) throw new ValueError(`q: expected a live tensor, received a disposed ${describeValue(q)}`);
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
    // q's NaN would otherwise vanish in the q > 0 select; a NaN logit's row in the sums' round-off
    const undefinedRows = tf.logicalOr(tf.any(tf.logicalNot(tf.isFinite(q2)), -1), tf.any(tf.isNaN(asRows(logits)), -1));
    const marked = tf.where(undefinedRows, tf.fill(f.shape, Number.NaN, 'float32'), f);
    return batched ? marked : tf.reshape(marked, []);
  });
}

/**
 * max over q ∈ [0, 1] of K(K−1)·q(1−q)^{K−2}, the coverage term's curvature measured against the entropy's
 * 1/q: K·((K−2)/(K−1))^{K−2}, attained at q = 1/(K−1); 0 for K = 1, where the term is linear. `k`: an
 * integer ≥ 1.
 */
export function coverageCurvature(k: number): number {
  return curvature(checkRange(k, { min: 1, integer: true }, 'k'));
}

/**
 * The default Best-of-K step size η = 1/L, L = λ + β̄·wMax·K·((K−2)/(K−1))^{K−2}, capped at 1000 (see
 * step-size.ts for why every step then increases the objective). `lambda`, `betaBar` = λβ and `wMax`
 * (a bound of the coverage weights, 1 for the built-in ones) are finite and ≥ 0, `k` an integer ≥ 1.
 */
export function defaultStepSize(lambda: number, betaBar: number, k: number, wMax = 1): number {
  return stepSize(
    checkRange(lambda, { min: 0 }, 'lambda'),
    checkRange(betaBar, { min: 0 }, 'betaBar'),
    checkRange(k, { min: 1, integer: true }, 'k'),
    checkRange(wMax, { min: 0 }, 'wMax'),
  ) as number;
}
