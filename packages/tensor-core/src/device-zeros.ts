import type { DataType, Tensor } from '@tensorflow/tfjs-core';
import { checkSizes } from './checks.js';
import { describeValue, ValueError } from './errors.js';
import { tf } from './tf.js';

/**
 * Zeros made by the backend's own Fill kernel. `tf.zeros` builds its values on the host, and on
 * WebGPU a host-valued tensor is uploaded on first use into a freshly created, mapped-at-creation
 * buffer that the buffer pool never reuses: on the lent H100 that cost ~0.7 ms per small tensor
 * (a zero initial state quadrupled a 0.5 ms Mamba-3 call) and ~1 GB/s for large ones. Use this for
 * every zero tensor made per call.
 */
export function deviceZeros(shape: number[], dtype: 'float32' | 'int32' = 'float32'): Tensor {
  const sizes = checkSizes(shape, 'shape');
  if (dtype !== 'float32' && dtype !== 'int32')
    throw new ValueError(`dtype: expected 'float32' or 'int32', received ${describeValue(dtype)}`);
  return tf.fill(sizes, 0, dtype as DataType);
}
