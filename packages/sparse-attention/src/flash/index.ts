import { deviceZeros, type Tensor, tf } from '@tessera/tensor-core';
import { flashOp } from './op.js';
import type { FlashAttrs, FlashInput } from './reference.js';
import { MAX_KERNEL_HEAD_DIM } from './tile.js';

export { flashBackwardOp, flashOp } from './op.js';
export { blockMaskFromLists, type FlashAttrs, flashReference } from './reference.js';
export { MAX_KERNEL_HEAD_DIM } from './tile.js';

/** The mask lists of a sparse call, or none (dense). */
export interface FlashLists {
  kvNum: Tensor;
  kvIdx: Tensor;
  qNum: Tensor;
  qIdx: Tensor;
}

/**
 * Runs the flash op on validated inputs: `[output, lse]`. Dense calls bind a 2-element int32 stand-in
 * for the unused lists (a WGSL program binds every input). On WebGPU, heads wider than
 * `MAX_KERNEL_HEAD_DIM` run the tfjs reference; the host kernels (cpu, wasm) take any width.
 */
export function runFlash(q: Tensor, k: Tensor, v: Tensor, lists: FlashLists | null, attrs: FlashAttrs): Tensor[] {
  return tf.tidy(() => {
    const stand = lists === null ? deviceZeros([2], 'int32') : null;
    const t = {
      q,
      k,
      v,
      kvNum: lists?.kvNum ?? stand,
      kvIdx: lists?.kvIdx ?? stand,
      qNum: lists?.qNum ?? stand,
      qIdx: lists?.qIdx ?? stand,
    } as Record<FlashInput, Tensor>;
    const d = q.shape[3] as number;
    return d > MAX_KERNEL_HEAD_DIM && tf.getBackend() === 'webgpu' ? flashOp.reference(t, attrs) : flashOp(t, attrs);
  });
}
