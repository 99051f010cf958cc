import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';

/**
 * z = x / T with the row rules of `softmax` applied before tfjs' composite: in a row holding +∞, the +∞
 * entries become 0 and the others −∞ (the limit: they share the mass). Returns z and the rows holding
 * a NaN (bool, broadcast to `[R, C]`), which the caller turns into NaN rows.
 */
function limitRows(x: Tensor, temperature: number): { z: Tensor; nanRows: Tensor } {
  const z = temperature === 1 ? x : tf.div(x, tf.scalar(temperature, 'float32'));
  // The row masks are built from ops that have (zero) gradients — isNaN, isInf, greaterEqual, cast, max —
  // because tfjs' autodiff of this composite (the path on WASM) walks into tf.where's condition and
  // fails on an op without one (tf.any, tf.logicalAnd, tf.greater).
  const flag = (t: Tensor): Tensor => tf.cast(t, 'float32');
  // widened by a float add, not tf.broadcastTo: tfjs' WASM backend tiles a bool tensor in JavaScript (30× the
  // whole softmax at [16, 32768])
  const zeros = tf.zerosLike(z);
  const anyInRow = (t: Tensor): Tensor => tf.cast(tf.add(zeros, tf.max(t, -1, true)), 'bool');
  const nanRows = anyInRow(flag(tf.isNaN(z)));
  const positive = tf.mul(flag(tf.isInf(z)), flag(tf.greaterEqual(z, 0)));
  const limit = tf.where(tf.cast(positive, 'bool'), tf.zerosLike(z), tf.fill(z.shape, Number.NEGATIVE_INFINITY, 'float32'));
  return { z: tf.where(anyInRow(positive), limit, z), nanRows };
}

function nanRowsOf(y: Tensor, nanRows: Tensor): Tensor {
  return tf.where(nanRows, tf.fill(y.shape, Number.NaN, 'float32'), y);
}

/** Row-wise softmax of x / T as tfjs composes it, with `softmax`'s non-finite rules: the oracle for the kernels. `[R, C] → [R, C]`. */
export function softmaxReference(x: Tensor, temperature = 1): Tensor {
  return tf.tidy(() => {
    const { z, nanRows } = limitRows(x, temperature);
    return nanRowsOf(tf.softmax(z), nanRows);
  });
}

/** Row-wise log-softmax of z = x / T, z − logsumexp(z), with the same rules. `[R, C] → [R, C]`. */
export function logSoftmaxReference(x: Tensor, temperature = 1): Tensor {
  return tf.tidy(() => {
    const { z, nanRows } = limitRows(x, temperature);
    return nanRowsOf(tf.logSoftmax(z), nanRows);
  });
}
