import { checkRange, logSoftmax, type Tensor, tf } from '@tessera/tensor-core';
import { asRows, checkOptions, checkTemperature, restoreShape, validateLogits } from '../logits.js';
import { gatherRows, softmaxOver, tempered } from './support.js';

/** Options of `typical`. */
export interface TypicalOptions {
  /** Kept mass ∈ (0, 1]. */
  mass: number;
  /** T > 0 (default 1), applied first (HF order). */
  temperature?: number;
}

/**
 * Locally typical support of tempered logits `z: [B, V]` → bool `[B, V]`, HF's TypicalLogitsWarper rule:
 * rank tokens by `|−log p(v) − H(p)|` ascending, find the first rank i where the cumulative mass
 * reaches `mass` (clamped to V − 1), keep every token whose distance is ≤ the distance at rank i.
 */
export function typicalMask(z: Tensor, mass: number): Tensor {
  const vocab = z.shape[1] as number;
  const logp = logSoftmax(z);
  const p = tf.exp(logp);
  // −∞·0 is NaN: masked tokens add nothing to the entropy (HF's nansum)
  const plogp = tf.where(tf.isFinite(logp), tf.mul(p, logp), tf.zerosLike(logp));
  const entropy = tf.neg(tf.sum(plogp, 1, true));
  const distance = tf.abs(tf.sub(tf.neg(logp), entropy));
  const { values: negSorted, indices } = tf.topk(tf.neg(distance), vocab);
  const cumulative = tf.cumsum(gatherRows(p, indices), 1);
  const below = tf.sum(tf.cast(tf.less(cumulative, tf.scalar(mass, 'float32')), 'int32'), 1, true);
  const last = tf.minimum(below, tf.scalar(vocab - 1, 'int32'));
  const cut = tf.neg(gatherRows(negSorted, last));
  return tf.lessEqual(distance, cut);
}

/**
 * Locally typical sampling (Meister et al. 2023): softmax(s / T) renormalised over the tokens whose
 * information content is closest to the entropy, up to `mass` — HF's TypicalLogitsWarper after
 * TemperatureLogitsWarper. Objective: `max ⟨q, s⟩ − T·Σ q log q` over `C = {q ∈ Δ : q(v) = 0 off that set}`.
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape. Differences from HF: mass = 1 is accepted
 * (HF requires mass < 1); HF reads cumulative mass from a second softmax of the re-sorted logits, we
 * gather the first one (equal up to float rounding).
 */
export function typical(logits: Tensor, opts: TypicalOptions): Tensor {
  const { batched } = validateLogits(logits);
  const o = checkOptions(opts, '{ mass, temperature? }');
  const mass = checkRange(o.mass, { min: 0, minExclusive: true, max: 1 }, 'mass');
  const temperature = checkTemperature(o.temperature ?? 1);
  return tf.tidy(() => {
    const z = tempered(asRows(logits), temperature);
    return restoreShape(softmaxOver(z, typicalMask(z, mass)), batched);
  });
}
