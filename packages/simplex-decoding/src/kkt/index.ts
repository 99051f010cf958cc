import { ShapeError, type Tensor, tf } from '@tessera/tensor-core';
import { asRows, screenRows } from '../rows.js';
import { validateLogits } from '../validate.js';
import { regularisedScore } from './score.js';
import { type KktObjective, validateObjective } from './validate.js';

export type { KktObjective } from './validate.js';

/**
 * Per-row KKT residuals of Eq. 5; each `[B]` float32, or `[]` for `[V]` inputs. A type alias (not an
 * interface) so that it is a tfjs `TensorContainer`: `tf.dispose(residuals)` frees all four.
 */
export type KktResiduals = {
  /** |Σ q − 1| + Σ max(−q, 0) + Σ_{v ∉ C} |q(v)| (mass outside C counts as infeasible). */
  feasibility: Tensor;
  /** max over the support (q > 0, v ∈ C) of |r(v) − η|. */
  stationarity: Tensor;
  /** max over off-support tokens of C (q = 0, v ∈ C) of max(r(v) − η, 0); tokens outside C are exempt. */
  complementarity: Tensor;
  /** η: the mean of r over the support — the common "price" of the active tokens; NaN for an all-zero q. */
  eta: Tensor;
};

/**
 * KKT certificate of `q` for `max_{q ∈ Δ ∩ C} ⟨q, s⟩ − λ Ω(q)` (paper §2.2, Eq. 5): with the regularised
 * score r(v) = s(v) − λ ∂Ω/∂q(v), an optimum has r = η on its support and r ≤ η on the rest of C. All
 * three residuals are 0 at the optimum; every closed form of this package certifies itself to ~1e-5.
 *
 * `q, s: [B, V] | [V]` float32 (same shape). Entropic Ω use ∂Ω/∂q = 1 + log q with λ = temperature, and
 * read q = 0 as the smallest normal float32 (underflowed tokens pass, see score.ts); sparsemax ∂Ω/∂q =
 * q; α-entmax ∂Ω/∂q = q^{α−1}/(α − 1); `kl` ∂Ω/∂q = 1 + log q − log p_ref with C = {p_ref > 0}. For
 * topK / topP / minP / typical / epsilon, C is recomputed from `s` with the decoder's own rule.
 * Non-finite scores follow the decoders' rules (README, "Non-finite logits"): a row of `s` holding +∞ is
 * certified against its limit, and a row with a NaN in `s` or a non-finite `q` (or an all −∞ row of `s`)
 * has NaN residuals.
 */
export function kkt(q: Tensor, s: Tensor, objective: KktObjective): KktResiduals {
  const info = validateLogits(s, 's');
  validateLogits(q, 'q');
  if (q.shape.join(', ') !== s.shape.join(', ')) {
    throw new ShapeError(`q: expected the shape of s [${s.shape.join(', ')}], received [${q.shape.join(', ')}]`);
  }
  const checked = validateObjective(objective, s, info.vocab);
  return tf.tidy(() => {
    const qRows = asRows(q);
    const { z: sRows, nanRows } = screenRows(asRows(s));
    const undefinedRows = tf.reshape(tf.logicalOr(nanRows, tf.any(tf.logicalNot(tf.isFinite(qRows)), 1, true)), [info.rows]);
    const { score, allowed } = regularisedScore(checked, sRows, qRows);
    const zeros = tf.zerosLike(qRows);
    const inC = allowed ?? tf.cast(tf.onesLike(qRows), 'bool');
    const outside = tf.sum(tf.where(inC, zeros, tf.abs(qRows)), 1);
    const feasibility = tf.add(tf.add(tf.abs(tf.sub(tf.sum(qRows, 1), 1)), tf.sum(tf.relu(tf.neg(qRows)), 1)), outside);
    const support = tf.logicalAnd(inC, tf.greater(qRows, 0));
    const size = tf.sum(tf.cast(support, 'float32'), 1, true);
    const eta = tf.div(tf.sum(tf.where(support, score, zeros), 1, true), size);
    const stationarity = tf.max(tf.where(support, tf.abs(tf.sub(score, eta)), zeros), 1);
    const offSupport = tf.logicalAnd(inC, tf.logicalNot(support));
    const complementarity = tf.max(tf.where(offSupport, tf.relu(tf.sub(score, eta)), zeros), 1);
    const nan = tf.fill([info.rows], Number.NaN, 'float32');
    const shape = (t: Tensor) => {
      const marked = tf.where(undefinedRows, nan, tf.reshape(t, [info.rows]));
      return info.batched ? marked : tf.reshape(marked, []);
    };
    return {
      feasibility: shape(feasibility),
      stationarity: shape(stationarity),
      complementarity: shape(complementarity),
      eta: shape(tf.reshape(eta, [info.rows])),
    };
  });
}
