import { checkOptions, checkRange, stopGradient, type Tensor, tf, ValueError } from '@tessera/tensor-core';
import type { BlockMask } from '../block-mask/index.js';

import { checkCausal, checkQkv, resolveScale } from '../flash/validate.js';
import { blockSoftmax, causalBlocks, meanPool } from './reference.js';
import { selectBlocks, toBlockMask } from './select.js';
import { checkFraction, checkGrid } from './validate.js';

export interface SpargeV1MaskOptions {
  /** Tokens per query block. Default 128. */
  bq?: number;
  /** Tokens per key block. Default 64. */
  bk?: number;
  /** A block is self-similar when the mean cosine similarity of its tokens exceeds this (simthreshd1). Default 0.1. */
  simThreshold?: number;
  /** CDF threshold (cdfthreshd) ∈ (0, 1]: keep the highest blocks whose cumulative mass stays ≤ it. Default 0.9; exclusive with `topK`. */
  cdfThreshold?: number;
  /** Instead of the CDF rule, keep ⌊topK·Nk⌋ blocks (at least 1), topK ∈ (0, 1]. */
  topK?: number;
  /** Always keep key block 0 (the attention sink). Default false. */
  attentionSink?: boolean;
  /** Drop key blocks after each query block (block-causal, as blockScores). Default false. */
  causal?: boolean;
  /** Multiplies Q̄K̄ᵀ. Default D^−1/2. */
  scale?: number;
}

/** Mean cosine similarity of the tokens of each block, (1/b²)Σ_{a,c} cos(x_a, x_c) = ‖mean of unit tokens‖²: `[B, H, n]`. */
export function selfSimilarity(x: Tensor, size: number): Tensor {
  return tf.tidy(() => {
    const unit = tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12));
    return tf.sum(tf.square(meanPool(unit, size)), -1);
  });
}

/**
 * SpargeAttn v1's block mask (Zhang et al. 2025, arXiv 2502.18137; thu-ml/SpargeAttn
 * `get_block_map_meansim`; papers/sparse.md C): mean-pooled scores softmax(scale · Q̄K̄ᵀ) over key blocks,
 * with −∞ on key blocks that are not self-similar (their mean does not represent them); per row the highest
 * blocks whose cumulative mass stays ≤ `cdfThreshold` (at least one; or ⌊topK·Nk⌋ with `topK`); then every
 * non-self-similar key block (column) and every non-self-similar query block (row) is kept in full,
 * future blocks are dropped when `causal`, and key block 0 is added to every row with `attentionSink`.
 * `q [B, H, Lq, D]`, `k [B, H, Lk, D]` → a BlockMask with block size [bq, bk]; a constant for gradients.
 */
export function spargeV1Mask(q: Tensor, k: Tensor, opts?: SpargeV1MaskOptions): BlockMask {
  const o = checkOptions(opts, ['bq', 'bk', 'simThreshold', 'cdfThreshold', 'topK', 'attentionSink', 'causal', 'scale']);
  const causal = checkCausal(o.causal);
  const dims = checkQkv(q, k, null, causal);
  const { bq, bk, nq, nk } = checkGrid(o.bq, o.bk, dims.lq, dims.lk);
  const scale = resolveScale(o.scale, dims.d);
  const simThreshold = checkRange(o.simThreshold ?? 0.1, { min: -1, max: 1 }, 'opts.simThreshold');
  if (o.topK !== undefined && o.cdfThreshold !== undefined) {
    throw new ValueError(`opts: expected one of cdfThreshold or topK, received both (cdfThreshold ${o.cdfThreshold}, topK ${o.topK})`);
  }
  const rule =
    o.topK === undefined
      ? { k: 1, pBefore: 0, pThrough: checkFraction(o.cdfThreshold ?? 0.9, 'opts.cdfThreshold') }
      : { k: Math.max(1, Math.floor(checkFraction(o.topK, 'opts.topK') * nk + 1e-9)), pBefore: 0, pThrough: -1 };
  const sink = o.attentionSink ?? false;
  if (typeof sink !== 'boolean') throw new ValueError(`opts.attentionSink: expected a boolean, received ${String(sink)}`);
  const kept = tf.tidy(() => {
    const [qd, kd] = [stopGradient(q), stopGradient(k)];
    const qSimilar = tf.greater(selfSimilarity(qd, bq), simThreshold);
    const kSimilar = tf.greater(selfSimilarity(kd, bk), simThreshold);
    const kCols = tf.expandDims(kSimilar, 2);
    const blockCausal = causal ? tf.reshape(causalBlocks(nq, nk, bq, bk, dims.lq), [1, 1, nq, nk]) : null;
    const allowed = blockCausal === null ? kCols : tf.logicalAnd(kCols, blockCausal);
    const scores = blockSoftmax(meanPool(qd, bq), meanPool(kd, bk), scale, allowed);
    const selected = tf.notEqual(selectBlocks(scores, rule), 0);
    const forced = tf.logicalOr(tf.logicalNot(kCols), tf.logicalNot(tf.expandDims(qSimilar, 3)));
    let mask = tf.logicalOr(selected, forced);
    if (blockCausal !== null) mask = tf.logicalAnd(mask, blockCausal);
    if (sink) mask = tf.logicalOr(mask, tf.reshape(tf.less(tf.range(0, nk, 1, 'int32'), 1), [1, 1, 1, nk]));
    return mask;
  });
  return toBlockMask(kept, bq, bk);
}
