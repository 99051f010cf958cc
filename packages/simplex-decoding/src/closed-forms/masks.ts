import { logSoftmax, softmax, type Tensor, tf } from '@tessera/tensor-core';
import { gatherRows, keepTopCount } from './support.js';

/*
 * The support rules of the truncation decoders, each on tempered scores `z: [B, V]` (non-finite rows
 * already screened) → bool `[B, V]`. `kkt` reuses them to recompute a decoder's constraint set C, and the
 * fused sampler's tfjs reference chains them.
 */

/**
 * The top-k set as bool `[B, V]`: exactly k tokens with the largest values, ties at the boundary broken
 * by lower token id.
 */
export function topKMask(z: Tensor, k: number): Tensor {
  const kth = tf.slice(tf.topk(z, k).values, [0, k - 1], [-1, 1]);
  return keepTopCount(z, kth, tf.fill(kth.shape, k, 'float32'));
}

/**
 * The nucleus. Tokens are ranked by `z` (ties: lower token id first); with `p = softmax(z)` in that
 * order, the nucleus is the first `m` tokens, `m` = #{i : Σ_{j ≥ i} p_(j) > 1 − p} ≥ 1 — HF's rule
 * (`cumulative_probs <= 1 − top_p` removed, over the ascending sort, summed from the smallest as HF does).
 * In exact arithmetic Σ_{j ≥ i} p_(j) = 1 − Σ_{j<i} p_(j), so a token is kept iff the mass ranked strictly
 * above it is < p: the token crossing p is kept.
 */
export function nucleusMask(z: Tensor, p: number): Tensor {
  const vocab = z.shape[1] as number;
  const sorted = tf.topk(z, vocab).values;
  // reverse cumsum over the descending order = HF's ascending cumsum, summed in the same order; done as a
  // forward cumsum of the reversed row because tfjs-webgpu 4.22's reverse cumsum drops terms
  const tail = tf.reverse(tf.cumsum(tf.reverse(softmax(sorted), 1), 1), 1);
  const kept = tf.sum(tf.cast(tf.greater(tail, tf.scalar(1 - p, 'float32')), 'int32'), 1, true);
  const count = tf.maximum(kept, tf.scalar(1, 'int32'));
  const threshold = gatherRows(sorted, tf.sub(count, tf.scalar(1, 'int32')));
  return keepTopCount(z, threshold, tf.cast(count, 'float32'));
}

/** The min-p set: HF's `probs ≥ pMin · max probs` in float32. */
export function minPMask(z: Tensor, pMin: number): Tensor {
  const probs = softmax(z);
  return tf.greaterEqual(probs, tf.mul(tf.max(probs, 1, true), tf.scalar(pMin, 'float32')));
}

/**
 * The locally typical set, HF's TypicalLogitsWarper rule: rank tokens by `|−log p(v) − H(p)|` ascending,
 * find the first rank i where the cumulative mass reaches `mass` (clamped to V − 1), keep every token
 * whose distance is ≤ the distance at rank i.
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

/** The epsilon set: `p ≥ eps`, or a largest score (HF's rule: every token tied with the top stays). */
export function epsilonMask(z: Tensor, eps: number): Tensor {
  const probs = softmax(z);
  return tf.logicalOr(tf.greaterEqual(probs, tf.scalar(eps, 'float32')), tf.greaterEqual(z, tf.max(z, 1, true)));
}
