import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';

function tempered(x: Tensor, temperature: number): Tensor {
  return temperature === 1 ? x : tf.div(x, tf.scalar(temperature, 'float32'));
}

/** Row-wise softmax of x / T as tfjs composes it: the oracle for the kernels. `[R, C] → [R, C]`. */
export function softmaxReference(x: Tensor, temperature = 1): Tensor {
  return tf.tidy(() => tf.softmax(tempered(x, temperature)));
}

/** Row-wise log-softmax of z = x / T, z − logsumexp(z). `[R, C] → [R, C]`. */
export function logSoftmaxReference(x: Tensor, temperature = 1): Tensor {
  return tf.tidy(() => tf.logSoftmax(tempered(x, temperature)));
}
