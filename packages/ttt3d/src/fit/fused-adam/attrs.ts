/**
 * One Adam step's scalars, as tfjs' `AdamOptimizer.applyGradients` uses them. `correction1` and `correction2` are
 * the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ, computed by the caller in float32 exactly as tfjs does (its
 * `accBeta` variables times β each step, then `1 − accBeta`), so every backend divides by the same numbers.
 */
export interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  correction1: number;
  correction2: number;
}

export const ADAM_INPUTS = ['param', 'grad', 'moments'] as const;
export type AdamInput = (typeof ADAM_INPUTS)[number];

/**
 * The float32 scalars of the update, each rounded as tfjs rounds it: a number passed to a tfjs op becomes a
 * float32 scalar, and `1 − β` is taken in float64 first (`mul(gradient, 1 - this.beta1)`).
 */
export function adamScalars(a: AdamAttrs): {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  correction1: number;
  correction2: number;
  epsilon: number;
  negLr: number;
} {
  const f = Math.fround;
  return {
    beta1: f(a.beta1),
    oneMinusBeta1: f(1 - a.beta1),
    beta2: f(a.beta2),
    oneMinusBeta2: f(1 - a.beta2),
    correction1: f(a.correction1),
    correction2: f(a.correction2),
    epsilon: f(a.epsilon),
    negLr: f(-a.lr),
  };
}
