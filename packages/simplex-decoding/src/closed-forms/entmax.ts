import { checkRange, type Tensor, tf } from '@tessera/tensor-core';
import { asRows, checkOptions, restoreShape, validateLogits } from '../logits.js';
import { tempered } from './support.js';

/** Options of `entmax`. */
export interface EntmaxOptions {
  /** α > 1; α = 1 is softmax (use `softmax()`), α = 2 is sparsemax. */
  alpha: number;
  /** λ > 0 (default 1). */
  lambda?: number;
  /** Bisection steps (default 50, as the entmax package's `entmax_bisect`), an integer in [1, 200]. */
  iterations?: number;
}

/**
 * α-entmax by bisection (Peters, Niculae & Martins 2019, Eq. 9; the entmax package's `entmax_bisect`):
 * `q = [(α − 1)·s/λ − τ]₊^{1/(α−1)}` with τ bisected in [max − 1, max − V^{1−α}] (the range where the
 * row sum crosses 1), then the row renormalised. Objective: `max ⟨q, s⟩ − λ·Ω_α(q)`,
 * `Ω_α(q) = (Σ q^α − 1)/(α(α − 1))` (Tsallis), `C = Δ`; α → 1⁺ tends to softmax, α = 2 is sparsemax.
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape, exact zeros below the threshold. −∞ logits get
 * q = 0; an all −∞ row gives NaN. For α close to 1 float32 loses accuracy (q is a power 1/(α−1) of a
 * number near 1): prefer `softmax()` there.
 */
export function entmax(logits: Tensor, opts: EntmaxOptions): Tensor {
  const { vocab, batched } = validateLogits(logits);
  const o = checkOptions(opts, '{ alpha, lambda?, iterations? }');
  const alpha = checkRange(o.alpha, { min: 1, minExclusive: true, hint: 'α = 1 is softmax: use softmax()' }, 'alpha');
  const lambda = checkRange(o.lambda ?? 1, { min: 0, minExclusive: true, hint: 'λ = 0 is greedy decoding: use greedy()' }, 'lambda');
  const iterations = checkRange(o.iterations ?? 50, { min: 1, max: 200, integer: true }, 'iterations');
  const power = 1 / (alpha - 1);
  return tf.tidy(() => {
    const x = tf.mul(tempered(asRows(logits), lambda), tf.scalar(alpha - 1, 'float32'));
    const top = tf.max(x, 1, true);
    const mass = (tau: Tensor) => tf.pow(tf.relu(tf.sub(x, tau)), tf.scalar(power, 'float32'));
    let lo = tf.sub(top, 1);
    let mid = lo;
    let width = 1 - (1 / vocab) ** (alpha - 1);
    for (let i = 0; i < iterations; i++) {
      width /= 2;
      // a tidy per step so each step's [B, V] temporaries are freed at once
      const [nextLo, nextMid] = tf.tidy(() => {
        const m = tf.add(lo, width);
        const enough = tf.greaterEqual(tf.sum(mass(m), 1, true), 1);
        return [tf.where(enough, m, lo), m];
      });
      if (mid !== lo) mid.dispose();
      lo.dispose();
      lo = nextLo as Tensor;
      mid = nextMid as Tensor;
    }
    // entmax_bisect's output: the last midpoint's q, renormalised
    const q = mass(mid);
    return restoreShape(tf.div(q, tf.sum(q, 1, true)), batched);
  });
}
