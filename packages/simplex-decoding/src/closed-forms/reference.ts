import { softmax, type Tensor, tf } from '@tessera/tensor-core';
import { nanRowsOf, screenRows } from '../rows.js';
import { nucleusMask, topKMask } from './masks.js';
import type { SelectPath } from './radix-layout.js';
import { gatherRows, restrict, tempered } from './support.js';

/** Attributes of `truncatedSoftmaxOp`: temperature T > 0, top-k (0 or V: off) and nucleus mass p (1: off). */
export interface TruncatedAttrs {
  temperature: number;
  k: number;
  p: number;
  /** WebGPU only: the selection program, one workgroup per row ('row'), the radix select ('split') or by shape ('auto', default). */
  select?: SelectPath;
  /** WebGPU radix select only: splits per row instead of `radixGrid`'s choice (tests: many splits on short rows). */
  splits?: number;
}

/**
 * softmax(s / T) renormalised over the top-k set, then over the nucleus of that (Hugging Face's warper
 * order), in tfjs ops: `logits: [B, V]` → `[B, V]` under the closed forms' non-finite rules (`screenRows`,
 * `nanRowsOf`). The specification of `topK` (p = 1) and `topP` (k = 0): the sets of `topKMask` and
 * `nucleusMask`, which sort the row with `tf.topk`; the kernels of `truncatedSoftmaxOp` never sort.
 */
export function truncatedSoftmaxReference(logits: Tensor, { temperature, k, p }: TruncatedAttrs): Tensor {
  return tf.tidy(() => {
    const vocab = logits.shape[1] as number;
    const { z, nanRows } = screenRows(tempered(logits, temperature));
    let kept = z;
    if (k > 0 && k < vocab) kept = restrict(kept, topKMask(kept, k));
    if (p < 1) kept = restrict(kept, nucleusMask(kept, p));
    return nanRowsOf(softmax(kept), nanRows);
  });
}

/**
 * Sparsemax of `z: [B, V]` by the threshold algorithm (paper §3.5, Eq. 7; Martins & Astudillo 2016,
 * Alg. 1): sort descending, prefix sums A_k, support size k* = #{k : 1 + k·z_(k) > A_k}, threshold
 * τ = (A_{k*} − 1)/k*, q = [z − τ]₊. O(V log V) through `tf.topk(z, V)`. The reference for the bisection.
 */
export function sparsemaxSort(z: Tensor): Tensor {
  const vocab = z.shape[1] as number;
  const sorted = tf.topk(z, vocab).values;
  const prefix = tf.cumsum(sorted, 1);
  const ranks = tf.range(1, vocab + 1, 1, 'float32');
  const inSupport = tf.greater(tf.add(tf.mul(ranks, sorted), 1), prefix);
  const size = tf.sum(tf.cast(inSupport, 'int32'), 1, true);
  // an all −∞ row has size 0: clamp the index so that the gather stays in range
  const total = gatherRows(prefix, tf.maximum(tf.sub(size, tf.scalar(1, 'int32')), tf.scalar(0, 'int32')));
  const tau = tf.div(tf.sub(total, 1), tf.cast(size, 'float32'));
  // top − top: 0, or NaN for an all −∞ row (relu(NaN) is 0 on some backends, so mark the row explicitly)
  const top = tf.slice(sorted, [0, 0], [-1, 1]);
  return tf.add(tf.relu(tf.sub(z, tau)), tf.sub(top, top));
}

/**
 * Sort-free sparsemax of `z: [B, V]` in tfjs ops (the oracle of the kernels below): bisection on τ for
 * f(τ) = Σ [z − τ]₊ − 1 (decreasing, f(max − 1) ≥ 0 ≥ f(max)), then an exact finish on the support
 * found, τ = (Σ_{z > τ_lo} z − 1)/|{z > τ_lo}| — one Michelot step from below, which lands on the
 * threshold of Eq. 7 once the support is right. No sort, so it scales to large V.
 */
export function sparsemaxBisectReference(z: Tensor, iterations: number): Tensor {
  return tf.tidy(() => {
    const top = tf.max(z, 1, true);
    let lo = tf.sub(top, 1);
    let hi = tf.clone(top);
    for (let i = 0; i < iterations; i++) {
      // a tidy per step: each step's [B, V] temporaries are freed at once, not at the end of the loop
      const [nextLo, nextHi] = tf.tidy(() => {
        const mid = tf.mul(tf.add(lo, hi), 0.5);
        const enough = tf.greaterEqual(tf.sum(tf.relu(tf.sub(z, mid)), 1, true), 1);
        return [tf.where(enough, mid, lo), tf.where(enough, hi, mid)];
      });
      tf.dispose([lo, hi]);
      lo = nextLo as Tensor;
      hi = nextHi as Tensor;
    }
    const support = tf.greater(z, lo);
    const size = tf.sum(tf.cast(support, 'float32'), 1, true);
    const total = tf.sum(tf.where(support, z, tf.zerosLike(z)), 1, true);
    const tau = tf.div(tf.sub(total, 1), size);
    // top − top: 0, or NaN for an all −∞ row (relu(NaN) is 0 on some backends, so mark the row explicitly)
    return tf.add(tf.relu(tf.sub(z, tau)), tf.sub(top, top));
  });
}
