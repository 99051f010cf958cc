import type { Tensor } from '@tensorflow/tfjs-core';
import { checkRange, checkSizes } from '../checks.js';
import { ShapeError, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';
import { philoxUniform } from './index.js';

export interface PhiloxNormalOptions {
  /** Stream key: a non-negative safe integer. */
  seed: number;
  /** Stream position of the first draw (default 0); a call uses 2·size positions. */
  offset?: number;
  /** Default 0. */
  mean?: number;
  /** Default 1; > 0. */
  std?: number;
}

const NORMAL_OPTIONS = ['seed', 'offset', 'mean', 'std'] as const;

/**
 * Normal float32 numbers N(mean, std²) from the Philox stream by Box–Muller: element i is
 * mean + std·√(−2 ln(1 − u_i))·cos(2π v_i), u the `size` uniforms at stream positions [offset, offset + size)
 * and v the next `size`. Bit-identical draws on every backend up to the transcendental functions (log,
 * cos), which each backend rounds its own way. torch's `randn` draws differently: the distribution
 * matches a PyTorch run, the values do not. `shape → Tensor<float32>[shape]`.
 */
export function philoxNormal(shape: readonly number[], opts: PhiloxNormalOptions): Tensor {
  checkSizes(shape, 'shape');
  if (opts === undefined) throw new ValueError('opts: expected { seed, offset?, mean?, std? }, received undefined');
  checkOptions(opts, NORMAL_OPTIONS);
  const seed = checkRange(opts.seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'seed');
  const offset = checkRange(opts.offset ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'offset');
  const mean = checkRange(opts.mean ?? 0, {}, 'mean');
  const std = checkRange(opts.std ?? 1, { min: 0, minExclusive: true }, 'std');
  const n = shape.reduce((a, b) => a * b, 1);
  if (offset + 2 * n > Number.MAX_SAFE_INTEGER) {
    throw new ShapeError(`offset: expected offset + 2·size ≤ ${Number.MAX_SAFE_INTEGER}, received ${offset} + 2·${n}`);
  }
  if (n === 0) return tf.zeros([...shape], 'float32');
  return tf.tidy(() => {
    // 1 − u lies in (0, 1], so the logarithm is finite
    const u = tf.sub(1, philoxUniform([n], { seed, offset }));
    const v = philoxUniform([n], { seed, offset: offset + n });
    const z = tf.mul(tf.sqrt(tf.mul(-2, tf.log(u))), tf.cos(tf.mul(2 * Math.PI, v)));
    const scaled = std === 1 && mean === 0 ? z : tf.add(tf.mul(z, std), mean);
    return tf.reshape(scaled, [...shape]);
  });
}
