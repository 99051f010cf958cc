import type { Tensor } from '@tensorflow/tfjs-core';
import { checkRange, checkSizes } from '../checks.js';
import { ShapeError, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';
import { philoxUniformOp } from './op.js';

export interface PhiloxOptions {
  /** Stream key: a non-negative safe integer (its low and high 32-bit words form the Philox key). */
  seed: number;
  /** Position in the stream of the first element (default 0); advance it by the size drawn to continue. */
  offset?: number;
  /** Lower end of the interval (default 0): values are `low + (high − low)·u`. */
  low?: number;
  /** Upper end, exclusive (default 1); must exceed `low`. */
  high?: number;
}

const PHILOX_OPTIONS = ['seed', 'offset', 'low', 'high'] as const;

/**
 * Uniform float32 numbers in [0, 1) from Philox-4x32-10, counter-based: element i is stream position
 * offset + i, so results are bit-identical on CPU, WASM and WebGPU and independent of batching.
 * Each value is a word's top 24 bits × 2⁻²⁴, mapped affinely onto [low, high). `shape → Tensor<float32>[shape]`.
 */
export function philoxUniform(shape: readonly number[], opts: PhiloxOptions): Tensor {
  checkSizes(shape, 'shape');
  if (opts === undefined) throw new ValueError('opts: expected { seed, offset?, low?, high? }, received undefined');
  checkOptions(opts, PHILOX_OPTIONS);
  const seed = checkRange(opts.seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'seed');
  const offset = checkRange(opts.offset ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'offset');
  const n = shape.reduce((a, b) => a * b, 1);
  if (offset + n > Number.MAX_SAFE_INTEGER) {
    throw new ShapeError(`offset: expected offset + size ≤ ${Number.MAX_SAFE_INTEGER}, received ${offset} + ${n}`);
  }
  const low = checkRange(opts.low ?? 0, {}, 'low');
  const high = checkRange(opts.high ?? 1, { min: low, minExclusive: true, hint: 'high must exceed low' }, 'high');
  if (n === 0) return tf.zeros([...shape], 'float32');
  const unit = (): Tensor => philoxUniformOp({} as Record<never, Tensor>, { n, seed, offset });
  if (shape.length === 1 && low === 0 && high === 1) return unit();
  return tf.tidy(() => {
    const u = tf.reshape(unit(), [...shape]);
    return low === 0 && high === 1 ? u : tf.add(tf.mul(u, high - low), low);
  });
}

export { philox4x32, philoxUniformArray } from './philox.js';
export { philoxUniformOp };
