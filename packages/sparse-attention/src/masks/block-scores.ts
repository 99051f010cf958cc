import { checkOptions, type Tensor } from '@tessera/tensor-core';
import { checkCausal, checkQkv, resolveScale } from '../flash/validate.js';
import { blockScoresOp } from './op.js';
import { checkGrid } from './validate.js';

// the twilight mask builds on the composite's parts
export { blockSoftmax, causalBlocks, meanPool } from './reference.js';

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

/**
 * SpargeAttention2's block map (papers/sparse.md A.1'): q and k mean-pooled over blocks of `bq` and `bk`
 * consecutive tokens, P̄ = softmax(scale · Q̄K̄ᵀ) over key blocks, one row per query block:
 * `q [B, H, Lq, D]`, `k [B, H, Lk, D]` → `[B, H, ⌈Lq/bq⌉, ⌈Lk/bk⌉]`, rows summing to 1. The last block of
 * a sequence that is not a multiple of the block size is the mean of its actual tokens. With `causal`,
 * key blocks starting after the query block's last token get probability 0. On WebGPU two WGSL programs
 * (block means of q and k; scores and softmax per query block), elsewhere the tfjs composite; no host
 * round trip, and differentiable in q and k on every backend.
 */
export function blockScores(q: Tensor, k: Tensor, opts?: BlockScoresOptions): Tensor {
  const o = checkOptions(opts, ['bq', 'bk', 'causal', 'scale']);
  const causal = checkCausal(o.causal);
  const dims = checkQkv(q, k, null, causal);
  const { bq, bk } = checkGrid(o.bq, o.bk, dims.lq, dims.lk);
  return blockScoresOp({ q, k }, { bq, bk, causal, scale: resolveScale(o.scale, dims.d) });
}
