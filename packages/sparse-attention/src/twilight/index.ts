import { checkOptions, checkRange, stopGradient, type Tensor, tf } from '@tessera/tensor-core';
import type { BlockMask } from '../block-mask/index.js';

import { checkCausal, checkQkv, resolveScale } from '../flash/validate.js';
import { blockSoftmax, causalBlocks, meanPool } from '../masks/block-scores.js';
import { ceilFraction, selectBlocks, toBlockMask } from '../masks/select.js';
import { checkFraction, checkGrid } from '../masks/validate.js';
import { bisectOp } from './op.js';
import { minMaxQuantize } from './quantize.js';

export { bisectOp } from './op.js';
export { minMaxQuantize } from './quantize.js';

export interface TwilightMaskOptions {
  /** Coarse top-k budget ∈ (0, 1]: the selector keeps ⌈budget·Nk⌉ key blocks per query block. Default 0.25. */
  budget?: number;
  /** Top-p mass ∈ (0, 1] of the pruner over the re-estimated block weights. Default 0.85 (Twilight's config). */
  p?: number;
  /** Bits of the per-token min-max quantised K used for the re-estimate, an integer in [1, 16]. Default 4. */
  bits?: number;
  /** Tokens per query block. Default 128. */
  bq?: number;
  /** Tokens per key block. Default 64. */
  bk?: number;
  /** Drop key blocks after each query block (block-causal). Default false. */
  causal?: boolean;
  /** Multiplies scores. Default D^−1/2. */
  scale?: number;
}

/**
 * Twilight's select-then-prune (Lin et al. 2025, arXiv 2502.02770; papers/sparse.md B.1–B.4) at block
 * level: (1) a coarse selector keeps each query block's top ⌈budget·Nk⌉ key blocks by mean-pooled block
 * score (the role Quest plays in Twilight); (2) the weights of the selected keys are re-estimated with a
 * per-token `bits`-bit min-max quantised K — softmax over the selected tokens of scale · q̄ᵢ·k̂ₜ, with q̄ᵢ
 * the query block's mean — and summed per key block; (3) top-p over those block weights by threshold
 * bisection (no sort); the mask is the intersection of (1) and (3). `q [B, H, Lq, D]`, `k [B, H, Lk, D]`
 * → a BlockMask with block size [bq, bk]; a constant for gradients. Twilight itself prunes tokens of a
 * decoding query; using the block mean as the query is this package's adaptation to block masks.
 */
export function twilightMask(q: Tensor, k: Tensor, opts?: TwilightMaskOptions): BlockMask {
  const o = checkOptions(opts, ['budget', 'p', 'bits', 'bq', 'bk', 'causal', 'scale']);
  const causal = checkCausal(o.causal);
  const dims = checkQkv(q, k, null, causal);
  const { bq, bk, nq, nk } = checkGrid(o.bq, o.bk, dims.lq, dims.lk);
  const scale = resolveScale(o.scale, dims.d);
  const budget = checkFraction(o.budget ?? 0.25, 'opts.budget');
  const p = checkFraction(o.p ?? 0.85, 'opts.p');
  const bits = checkRange(o.bits ?? 4, { min: 1, max: 16, integer: true }, 'opts.bits');
  const kept = tf.tidy(() => {
    const [qd, kd] = [stopGradient(q), stopGradient(k)];
    const qBar = meanPool(qd, bq);
    const allowed = causal ? causalBlocks(nq, nk, bq, bk, dims.lq) : null;
    const scores = blockSoftmax(qBar, meanPool(kd, bk), scale, allowed);
    const selected = tf.notEqual(selectBlocks(scores, { k: ceilFraction(budget, nk), pBefore: 0, pThrough: -1 }), 0);
    const weights = estimateBlockWeights(qBar, minMaxQuantize(kd, bits), selected, bk, scale);
    const [b, h] = [dims.batch, dims.heads];
    const pruned = tf.reshape(bisectOp({ w: tf.reshape(weights, [b * h * nq, nk]) }, { p, eps: 1e-5 }), [b, h, nq, nk]);
    return tf.logicalAnd(selected, tf.notEqual(pruned, 0));
  });
  return toBlockMask(kept, bq, bk);
}

/**
 * Block weights `[B, H, Nq, Nk]` of the selected blocks: softmax over the tokens of the selected key blocks
 * of scale · q̄ᵢ·k̂ₜ, summed per key block (rows selecting nothing are 0).
 */
function estimateBlockWeights(qBar: Tensor, kHat: Tensor, selected: Tensor, bk: number, scale: number): Tensor {
  return tf.tidy(() => {
    const [b, h, nq, nk] = selected.shape as [number, number, number, number];
    const lk = kHat.shape[2] as number;
    const blockOf = tf.floorDiv(tf.range(0, lk, 1, 'int32'), tf.scalar(bk, 'int32'));
    const tokens = tf.notEqual(tf.gather(tf.cast(selected, 'int32'), blockOf, 3), 0);
    const logits = tf.mul(tf.matMul(qBar, kHat, false, true), tf.scalar(scale));
    const masked = tf.where(tokens, logits, tf.fill(logits.shape, Number.NEGATIVE_INFINITY));
    const probs = tf.softmax(masked);
    const clean = tf.where(tf.isNaN(probs), tf.zerosLike(probs), probs);
    const padded =
      nk * bk === lk
        ? clean
        : tf.pad(clean, [
            [0, 0],
            [0, 0],
            [0, 0],
            [0, nk * bk - lk],
          ]);
    return tf.sum(tf.reshape(padded, [b, h, nq, nk, bk]), -1);
  });
}
