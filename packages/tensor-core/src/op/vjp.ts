import type { Tensor } from '@tensorflow/tfjs-core';
import { checkFunction, checkLiveTensor } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { tf } from '../tf.js';

/**
 * Vector–Jacobian product of `f` at `xs` with cotangent `dy`, by tfjs autodiff, callable from inside a
 * registered gradient (e.g. a WGSL forward whose gradient routes through a differentiable tfjs form).
 * tfjs' `grads` replaces the engine's active tape when no other gradient is being recorded, and the
 * outer `grads` then fails cleaning up its own tape; restoring the tape afterwards makes the nested call
 * safe (under higher-order gradients the tape is shared and left untouched).
 */
export function vjp(f: (...xs: Tensor[]) => Tensor, xs: Tensor[], dy: Tensor): Tensor[] {
  checkFunction(f, 'f');
  if (!Array.isArray(xs)) throw new ValueError(`xs: expected an array of tensors, received ${describeValue(xs)}`);
  xs.forEach((x, i) => {
    checkLiveTensor(x, `xs[${i}]`);
  });
  checkLiveTensor(dy, 'dy');
  const state = tf.engine().state;
  const outer = state.activeTape;
  try {
    return tf.grads(f)(xs, dy);
  } finally {
    state.activeTape = outer;
  }
}
