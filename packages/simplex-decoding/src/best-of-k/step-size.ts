import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';

/**
 * max over q ∈ [0, 1] of K(K−1)·q(1−q)^{K−2}, the coverage term's curvature measured against the entropy's
 * 1/q: K·((K−2)/(K−1))^{K−2}, attained at q = 1/(K−1); 0 for K = 1, where the term is linear.
 */
export function coverageCurvature(k: number): number {
  return k === 1 ? 0 : k * ((k - 2) / (k - 1)) ** (k - 2);
}

/** The largest default step size (see `defaultStepSize`). */
export const MAX_STEP_SIZE = 1000;

/**
 * The default Best-of-K step size η = 1/L. −f is L-smooth relative to the negative entropy h (i.e. L·h + f
 * is convex) with L = λ + β̄·max_v w(v)·K·((K−2)/(K−1))^{K−2}: the Hessian of f is diagonal, −λ/q(v) from the
 * KL anchor and −β̄w(v)K(K−1)(1−q(v))^{K−2} from the coverage term, against h's 1/q(v). For η ≤ 1/L every
 * mirror-ascent step increases f (Lu, Freund & Nesterov 2018, relative smoothness), and since f is also
 * λ-strongly concave relative to h the iterates converge linearly at rate 1 − λ/L. In the KL-only case
 * (β̄ = 0, s = log p) the iterate is q_j ∝ p^{c_j} with c_{j+1} = (1 − ηλ)c_j + η(1 + λ): η = 1/λ reaches the
 * optimum p^{(1+λ)/λ} in one step, and with β̄ > 0 the contraction factor 1 − ηλ = 1 − λ/L lies in (0, 1).
 * The fixed J = 5 steps of the paper then solve the stated objective closely, so (β, λ) mean what Eq. 17
 * says rather than depending on J. η is capped at `MAX_STEP_SIZE` = 1000, which only matters as λ → 0 (for
 * λ = 0, β̄ = 0 too and f is linear, so every η ascends): a step of 1000 already separates any two scores
 * 0.1 apart by e^100, past float32's range, so larger steps change nothing but can overflow to NaN.
 * `wMax` is a bound on the weights: a number, or a per-row `[B, 1]` tensor for user weights.
 */
export function defaultStepSize(lambda: number, betaBar: number, k: number, wMax: number | Tensor): number | Tensor {
  const coverage = betaBar * coverageCurvature(k);
  if (typeof wMax === 'number') return Math.min(1 / (lambda + coverage * wMax), MAX_STEP_SIZE);
  return tf.tidy(() => tf.minimum(tf.reciprocal(tf.add(lambda, tf.mul(coverage, wMax))), MAX_STEP_SIZE));
}
