import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * Inclusive cumulative sum over the last axis, with its gradient (a reversed cumulative sum of dy)
 * written as reverse → forward cumsum → reverse. tfjs 4.22's own Cumsum gradient is wrong on WebGPU,
 * whose reverse cumsum kernel sums only the first four elements for longer axes, and on every backend
 * for a non-last axis (it transposes twice).
 */
export const cumsumLast: (x: Tensor) => Tensor = tf.customGrad((...args) => {
  const x = args[0] as Tensor;
  const axis = x.rank - 1;
  return {
    value: tf.cumsum(x, axis),
    gradFunc: (dy: Tensor) => tf.reverse(tf.cumsum(tf.reverse(dy, axis), axis), axis),
  };
});
