import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { asRows, restoreShape, validateLogits } from '../logits.js';
import { bestOfKRows } from './iterate.js';
import { type BestOfKOptions, bindBestOfK, resolveBestOfK } from './options.js';

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
 * No values are read back: NaN logits propagate (`createSampler().sample` rejects them).
 */
export function bestOfK(logits: Tensor, opts: BestOfKOptions): Tensor {
  const { rows, vocab, batched } = validateLogits(logits, 'logits');
  const settings = bindBestOfK(resolveBestOfK(opts), rows, vocab);
  return tf.tidy(() => restoreShape(bestOfKRows(asRows(logits), settings), batched));
}
