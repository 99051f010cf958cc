import { checkOptions, type Tensor, tf } from '@tessera/tensor-core';
import { checkCausal, checkQkv, resolveScale } from '../flash/validate.js';
import { checkGrid } from './validate.js';

export interface BlockScoresOptions {
  /** Tokens per query block. Default 128. */
  bq?: number;
  /** Tokens per key block. Default 64. */
  bk?: number;
  /** Rows exclude key blocks that start after the query block's last token (needs Lq = Lk). Default false. */
  causal?: boolean;
  /** Multiplies Q̄K̄ᵀ before the softmax. Default D^−1/2. */
  scale?: number;
}

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

/**
 * SpargeAttention2's block map (papers/sparse.md A.1'): q and k mean-pooled over blocks of `bq` and `bk`
 * consecutive tokens, P̄ = softmax(scale · Q̄K̄ᵀ) over key blocks, one row per query block:
 * `q [B, H, Lq, D]`, `k [B, H, Lk, D]` → `[B, H, ⌈Lq/bq⌉, ⌈Lk/bk⌉]`, rows summing to 1. The last block of
 * a sequence that is not a multiple of the block size is the mean of its actual tokens. With `causal`,
 * key blocks starting after the query block's last token get probability 0. tfjs ops, so it runs (and
 * differentiates) on every backend without a host round trip.
 */
export function blockScores(q: Tensor, k: Tensor, opts?: BlockScoresOptions): Tensor {
  const o = checkOptions(opts, ['bq', 'bk', 'causal', 'scale']);
  const causal = checkCausal(o.causal);
  const dims = checkQkv(q, k, null, causal);
  const { bq, bk, nq, nk } = checkGrid(o.bq, o.bk, dims.lq, dims.lk);
  const scale = resolveScale(o.scale, dims.d);
  return tf.tidy(() => blockSoftmax(meanPool(q, bq), meanPool(k, bk), scale, causal ? causalBlocks(nq, nk, bq, bk, dims.lq) : null));
}
