import { stopGradient, type Tensor, tf } from '@tessera/tensor-core';
import { BlockMask, blockMaskOfLists } from '../block-mask/index.js';

import { type SelectAttrs, selectListsOp, selectOp } from './op.js';

/** ⌈fraction · n⌉, immune to the rounding of fraction · n (0.1 · 30 = 3.0000000000000004). */
export function ceilFraction(fraction: number, n: number): number {
  return Math.ceil(fraction * n - 1e-9);
}

/** Kept blocks `[B, H, Nq, Nk]` int32 of scores under one selection rule, computed on the scores' device. */
export function selectBlocks(scores: Tensor, attrs: SelectAttrs): Tensor {
  return tf.tidy(() => {
    const [b, h, nq, nk] = scores.shape as [number, number, number, number];
    // the mask is a constant for gradients: selection has none, so cut the scores' autodiff history
    const flat = tf.reshape(stopGradient(scores), [b * h * nq, nk]);
    return tf.reshape(selectOp({ scores: flat }, attrs), [b, h, nq, nk]);
  });
}

/** The BlockMask with block size [bq, bk] of the blocks of `scores [B, H, Nq, Nk]` that one selection rule keeps, built on the scores' device. */
export function selectMask(scores: Tensor, attrs: SelectAttrs, bq: number, bk: number): BlockMask {
  // the mask is a constant for gradients: cut the scores' autodiff history
  const lists = tf.tidy(() => selectListsOp({ scores: stopGradient(scores) }, attrs));
  return blockMaskOfLists(lists, [bq, bk]);
}

/** A BlockMask from kept blocks `[B, H, Nq, Nk]` (bool or int32); takes them over (disposes them). */
export function toBlockMask(kept: Tensor, bq: number, bk: number): BlockMask {
  try {
    return BlockMask.fromDense(kept, { blockSize: [bq, bk] });
  } finally {
    kept.dispose();
  }
}
