import { expect } from 'vitest';
import type { Tensor, TensorContainer, TypedArray } from '@tensorflow/tfjs-core';
import { checkFunction, checkRange } from '../checks.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';

export type Numeric = Tensor | TypedArray | number | readonly unknown[];

export interface CloseOptions {
  atol?: number;
  rtol?: number;
  /** Prefix for the failure message. */
  message?: string;
}

async function toFlat(x: Numeric): Promise<{ values: ArrayLike<number>; shape?: number[] }> {
  if (typeof x === 'number') return { values: [x] };
  if (ArrayBuffer.isView(x)) return { values: x as TypedArray };
  if (Array.isArray(x)) return { values: (x as unknown[]).flat(Number.POSITIVE_INFINITY) as number[] };
  const t = x as Tensor;
  return { values: (await t.data()) as TypedArray, shape: t.shape };
}

/**
 * Asserts |a − b| ≤ atol + rtol·|b| elementwise (b is the expectation). NaN matches NaN and infinities
 * must match exactly. The failure names the worst element, its index and both values.
 */
export async function expectAllClose(actual: Numeric, expected: Numeric, opts: CloseOptions = {}): Promise<void> {
  checkOptions(opts, ['atol', 'rtol', 'message']);
  if (opts.atol !== undefined) checkRange(opts.atol, { min: 0 }, 'atol');
  if (opts.rtol !== undefined) checkRange(opts.rtol, { min: 0 }, 'rtol');
  const { atol = 1e-5, rtol = 1e-5 } = opts;
  const a = await toFlat(actual);
  const b = await toFlat(expected);
  const prefix = opts.message ? `${opts.message}: ` : '';
  if (a.shape && b.shape) {
    expect(a.shape, `${prefix}shape`).toEqual(b.shape);
  }
  expect(a.values.length, `${prefix}element count`).toBe(b.values.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i] as number;
    const y = b.values[i] as number;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) {
        worst = i;
        worstExcess = Number.POSITIVE_INFINITY;
        break;
      }
      continue;
    }
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      if (x !== y) {
        worst = i;
        worstExcess = Number.POSITIVE_INFINITY;
        break;
      }
      continue;
    }
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    const x = a.values[worst];
    const y = b.values[worst];
    expect.fail(
      `${prefix}values differ at flat index ${worst}: received ${x}, expected ${y} (|diff| ${Math.abs(Number(x) - Number(y))}, atol ${atol}, rtol ${rtol})`,
    );
  }
}

/**
 * Runs `fn` and asserts that the number of live tensors, and of the backend's data buffers, is unchanged
 * afterwards. Tensors that `fn` returns (a tensor, array or object of tensors) are disposed first, so
 * `expectNoLeaks(() => op(x))` checks that `op` frees all of its intermediates. The buffers count too since a
 * kernel's intermediates (what a custom op's `run()` returns and never wraps in a tensor) are backend data
 * only: a missed `dispose(info)` leaves `numTensors` unchanged.
 */
export async function expectNoLeaks<T extends TensorContainer | undefined>(fn: () => T | Promise<T>): Promise<void> {
  checkFunction(fn, 'fn');
  const before = tf.memory().numTensors;
  const dataBefore = tf.backend().numDataIds();
  const result = await fn();
  if (result !== undefined) tf.dispose(result as TensorContainer);
  const after = tf.memory().numTensors;
  expect(after - before, `tensors leaked (before ${before}, after ${after})`).toBe(0);
  const dataAfter = tf.backend().numDataIds();
  expect(dataAfter - dataBefore, `backend data leaked (before ${dataBefore}, after ${dataAfter})`).toBe(0);
}
