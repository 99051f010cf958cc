import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';

/** Row-wise softmax as tfjs composes it: the oracle for the kernels. `[R, C] → [R, C]`. */
export function softmaxReference(x: Tensor): Tensor {
  return tf.softmax(x);
}

/** Row-wise log-softmax, x − logsumexp(x). `[R, C] → [R, C]`. */
export function logSoftmaxReference(x: Tensor): Tensor {
  return tf.logSoftmax(x);
}
