import { type Tensor, tf } from '@tessera/tensor-core';
import { compactReference } from '../block-mask/index.js';

/** Mean of each run of `size` positions along axis 2 of `x [B, H, L, D]` → `[B, H, ⌈L/size⌉, D]` (the last run may be short). */
export function meanPool(x: Tensor, size: number): Tensor {
  return tf.tidy(() => {
    const [b, h, l, d] = x.shape as [number, number, number, number];
    const n = Math.ceil(l / size);
    const padded =
      n * size === l
        ? x
        : tf.pad(x, [
            [0, 0],
            [0, 0],
            [0, n * size - l],
            [0, 0],
          ]);
    const sums = tf.sum(tf.reshape(padded, [b, h, n, size, d]), 3);
    const counts = Array.from({ length: n }, (_, i) => Math.min(size, l - i * size));
    return tf.div(sums, tf.tensor(counts, [1, 1, n, 1]));
  });
}

/**
 * Block `(i, j)` of a causal grid may be attended: key block j starts no later than query block i's
 * last position, j·bk ≤ min((i + 1)·bq, L) − 1. `[Nq, Nk]` booleans.
 */
export function causalBlocks(nq: number, nk: number, bq: number, bk: number, l: number): Tensor {
  return tf.tidy(() => {
    const last = tf.reshape(
      tf.tensor(
        Array.from({ length: nq }, (_, i) => Math.min((i + 1) * bq, l) - 1),
        undefined,
        'int32',
      ),
      [nq, 1],
    );
    const first = tf.reshape(tf.mul(tf.range(0, nk, 1, 'int32'), tf.scalar(bk, 'int32')), [1, nk]);
    return tf.lessEqual(first, last);
  });
}

/** `softmax(scale · Q̄K̄ᵀ)` over key blocks with −∞ where `allowed` is false; a row with nothing allowed is all 0. */
export function blockSoftmax(qBar: Tensor, kBar: Tensor, scale: number, allowed: Tensor | null): Tensor {
  return tf.tidy(() => {
    const s = tf.mul(tf.matMul(qBar, kBar, false, true), tf.scalar(scale));
    if (allowed === null) return tf.softmax(s);
    const masked = tf.where(tf.broadcastTo(allowed, s.shape), s, tf.fill(s.shape, Number.NEGATIVE_INFINITY));
    const p = tf.softmax(masked);
    // rows with nothing allowed are NaN (−∞ − (−∞)); they select nothing
    return tf.where(tf.isNaN(p), tf.zerosLike(p), p);
  });
}

export interface BlockScoresAttrs {
  bq: number;
  bk: number;
  causal: boolean;
  scale: number;
}

/** blockScores in tfjs ops: mean pools, one matmul, a masked softmax. The oracle, and what cpu and wasm run. */
export function blockScoresReference(q: Tensor, k: Tensor, { bq, bk, causal, scale }: BlockScoresAttrs): Tensor {
  return tf.tidy(() => {
    const lq = q.shape[2] as number;
    const nq = Math.ceil(lq / bq);
    const nk = Math.ceil((k.shape[2] as number) / bk);
    return blockSoftmax(meanPool(q, bq), meanPool(k, bk), scale, causal ? causalBlocks(nq, nk, bq, bk, lq) : null);
  });
}

/**
 * One selection rule: keep block j of a row when its score is positive and its rank (descending, ties
 * to the lower index) is below `k`, or the mass ranked before it is below `pBefore`, or that mass plus
 * its own is at most `pThrough`. Disable a clause with k = 0, pBefore = 0, pThrough < 0.
 */
export interface SelectAttrs {
  k: number;
  pBefore: number;
  pThrough: number;
}

/** The rule through a sort (tf.topk) and a cumulative sum: the oracle. `[R, N] → [R, N]` int32. */
export function selectReference(scores: Tensor, attrs: SelectAttrs): Tensor {
  return tf.tidy(() => {
    const n = scores.shape[1] as number;
    const { values, indices } = tf.topk(scores, n);
    const before = tf.sub(tf.cumsum(values, 1), values);
    const position = tf.range(0, n, 1, 'int32');
    const keepSorted = tf.logicalAnd(
      tf.greater(values, 0),
      tf.logicalOr(
        tf.logicalOr(tf.less(position, attrs.k), tf.less(before, attrs.pBefore)),
        tf.lessEqual(tf.add(before, values), attrs.pThrough),
      ),
    );
    // back to block order: the sorted position of block j, gathered from the flattened rows (tfjs-wasm's
    // gather with batchDims = 1 repeats elements of every row after the first)
    const rows = scores.shape[0] as number;
    const inverse = tf.topk(tf.neg(tf.cast(indices, 'float32')), n).indices;
    const flat = tf.add(inverse, tf.reshape(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(n, 'int32')), [rows, 1]));
    return tf.reshape(tf.gather(tf.reshape(tf.cast(keepSorted, 'int32'), [rows * n]), tf.reshape(flat, [rows * n])), [rows, n]);
  });
}

/** The rule over scores `[B, H, Nq, Nk]`, then the forward's lists `[kvIdx, kvNum]`. */
export function selectListsReference(scores: Tensor, attrs: SelectAttrs): Tensor[] {
  return tf.tidy(() => {
    const [b, h, nq, nk] = scores.shape as [number, number, number, number];
    const kept = selectReference(tf.reshape(scores, [b * h * nq, nk]), attrs);
    return compactReference(tf.reshape(kept, [b, h, nq, nk]));
  });
}
