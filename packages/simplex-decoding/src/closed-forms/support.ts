import { softmax, type Tensor, tf } from '@tessera/tensor-core';

/** Scores `s / T` (`[B, V]`); division (not multiplication by 1/T) so the rounding matches HF's TemperatureLogitsWarper. */
export function tempered(rows: Tensor, temperature: number): Tensor {
  return temperature === 1 ? rows : tf.div(rows, tf.scalar(temperature, 'float32'));
}

/**
 * Scores `(s − max s) / λ` (`[B, V]`): shifted by the row max before the division, so the largest is 0
 * and the rest ≤ 0 for every λ — s/λ itself overflows, or loses the threshold to float32 rounding, as λ → 0.
 * Sparsemax and entmax are shift-invariant, so q is unchanged. An all −∞ row becomes NaN (−∞ − −∞).
 */
export function shiftedScores(s: Tensor, lambda: number): Tensor {
  const shifted = tf.sub(s, tf.max(s, 1, true));
  return lambda === 1 ? shifted : tf.div(shifted, tf.scalar(lambda, 'float32'));
}

/**
 * Entropic optimum on the face `C = {q : q(v) = 0 for v ∉ keep}`: softmax of `z` over the kept tokens
 * (`[B, V]` → `[B, V]`), exact zeros elsewhere — softmax of HF's warped scores with filter value −∞.
 */
export function softmaxOver(z: Tensor, keep: Tensor): Tensor {
  return softmax(restrict(z, keep));
}

/** Keeps `z` where `keep`, −∞ elsewhere (`[B, V]`): a later stage sees the renormalised distribution of this one. */
export function restrict(z: Tensor, keep: Tensor): Tensor {
  return tf.where(keep, z, tf.fill(z.shape, Number.NEGATIVE_INFINITY, 'float32'));
}

/**
 * Keeps exactly `count` tokens per row: every token whose value beats the row's `threshold` (the
 * `count`-th largest value), then tokens tied with it in increasing token id until `count` are kept.
 * Backend-independent: it never relies on how `tf.topk` orders equal values.
 * `values: [B, V]`, `threshold: [B, 1]`, `count: [B, 1]` float32 → bool `[B, V]`.
 */
export function keepTopCount(values: Tensor, threshold: Tensor, count: Tensor): Tensor {
  const above = tf.greater(values, threshold);
  const tied = tf.equal(values, threshold);
  const room = tf.sub(count, tf.sum(tf.cast(above, 'float32'), 1, true));
  // rank of each tied token among the tied ones, counted from token id 0
  const tieRank = tf.cumsum(tf.cast(tied, 'float32'), 1, true);
  return tf.logicalOr(above, tf.logicalAnd(tied, tf.less(tieRank, room)));
}

/**
 * `x[b, index[b, j]]`: `[B, V]`, int32 `[B, K]` → `[B, K]`, through a flat gather (tfjs' `gather` with
 * `batchDims` returns wrong rows on the WASM backend).
 */
export function gatherRows(x: Tensor, index: Tensor): Tensor {
  const [rows, vocab] = x.shape as [number, number];
  const rowStart = tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32'));
  const flat = tf.add(index, tf.reshape(rowStart, [rows, 1]));
  return tf.reshape(tf.gather(tf.reshape(x, [-1]), tf.reshape(flat, [-1])), index.shape);
}
