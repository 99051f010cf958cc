import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * 1 where `b` is true, else 0, as a float32 tensor with float32 storage. `tf.cast(b, 'float32')` on
 * tfjs' WebGPU backend only relabels the bool (i32) buffer, and some of its programs (transpose, hence
 * reductions over a non-last axis) then read i32 where they declared f32 and fail to compile.
 */
export function boolToFloat(b: Tensor): Tensor {
  return tf.tidy(() => tf.where(b, tf.ones(b.shape), tf.zeros(b.shape)));
}
