import type { DataType, Tensor } from '@tensorflow/tfjs-core';
import { type HostValuesBackend, readHostValues } from './backend/host-values.js';
import { describeValue, DtypeError, ShapeError, ValueError } from './errors.js';
import { checkOptions } from './options/check-options.js';
import { tf } from './tf.js';

/**
 * A dimension spec: a name binds the dimension (equal names must agree within one `dims` record),
 * a number fixes it, `null` accepts anything.
 */
export type DimSpec = string | number | null;

/** Named dimensions bound while checking several tensors against each other. */
export type Dims = Record<string, number>;

/**
 * Checks `t` against a shape spec such as `['B', 'H', 'L', 'D']` and returns the bound sizes.
 * Pass the same `dims` to later calls so that `k` must share `q`'s `B`, `H` and `L`.
 */
export function checkShape(t: Tensor, spec: readonly DimSpec[], name: string, dims: Dims = {}): Dims {
  if (!Array.isArray(spec))
    throw new ValueError(`${name}: spec: expected an array of dimension names, sizes or null, received ${describeValue(spec)}`);
  if (t === null || typeof t !== 'object' || !Array.isArray((t as Tensor).shape)) {
    throw new ShapeError(`${name}: expected a tensor of shape [${formatSpec(spec)}], received ${describeValue(t)}`);
  }
  if (t.isDisposed) {
    throw new ValueError(`${name}: expected a live tensor, received a disposed Tensor<${t.dtype}>[${t.shape.join(', ')}]`);
  }
  if (t.shape.length !== spec.length) {
    throw new ShapeError(
      `${name}: expected rank ${spec.length} [${formatSpec(spec)}], received rank ${t.shape.length} [${t.shape.join(', ')}]`,
    );
  }
  spec.forEach((want, i) => {
    const got = t.shape[i] as number;
    if (want === null) return;
    if (typeof want === 'number') {
      if (got !== want) {
        throw new ShapeError(`${name}: expected dimension ${i} to be ${want}, received shape [${t.shape.join(', ')}]`);
      }
      return;
    }
    const bound = dims[want];
    if (bound === undefined) {
      dims[want] = got;
    } else if (bound !== got) {
      throw new ShapeError(
        `${name}: expected dimension ${i} (${want}) to be ${bound} as bound by an earlier argument, received shape [${t.shape.join(', ')}]`,
      );
    }
  });
  return dims;
}

/**
 * The most elements a tensor that Tessera allocates from a user's sizes may hold (2³¹ − 1): WGSL kernels
 * index with 32-bit integers, and larger host arrays exhaust memory long before. Sizes are checked against
 * it before anything is allocated.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/** Checks a shape argument (an array of non-negative integers, at most `MAX_TENSOR_ELEMENTS` in all); returns a copy. */
export function checkSizes(shape: unknown, name: string): number[] {
  if (!Array.isArray(shape)) throw new ShapeError(`${name}: expected an array of non-negative integers, received ${describeValue(shape)}`);
  let size = 1;
  shape.forEach((d, i) => {
    checkRange(d as number, { min: 0, integer: true }, `${name}[${i}]`);
    size *= d as number;
  });
  if (size > MAX_TENSOR_ELEMENTS) {
    throw new ShapeError(`${name}: expected at most ${MAX_TENSOR_ELEMENTS} elements in all, received [${shape.join(', ')}] (${size})`);
  }
  return [...(shape as number[])];
}

/** Checks that `value` is a function (a callback argument). */
export function checkFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') throw new ValueError(`${name}: expected a function, received ${describeValue(value)}`);
}

/** Checks that `value` is a live tensor. */
export function checkLiveTensor(t: unknown, name: string): asserts t is Tensor {
  if (!(t instanceof tf.Tensor)) throw new ValueError(`${name}: expected a tensor, received ${describeValue(t)}`);
  if (t.isDisposed) throw new ValueError(`${name}: expected a live tensor, received a disposed Tensor<${t.dtype}>[${t.shape.join(', ')}]`);
}

function formatSpec(spec: readonly DimSpec[]): string {
  return spec.map((d) => (d === null ? '*' : String(d))).join(', ');
}

/** Checks that `t`'s dtype is one of `allowed`. */
export function checkDtype(t: Tensor, allowed: DataType | readonly DataType[], name: string): void {
  checkLiveTensor(t, name);
  const list = typeof allowed === 'string' ? [allowed] : allowed;
  if (!list.includes(t.dtype)) {
    throw new DtypeError(`${name}: expected dtype ${list.join(' or ')}, received ${t.dtype}`);
  }
}

const RANGE_SPEC_KEYS = ['min', 'max', 'minExclusive', 'maxExclusive', 'integer', 'hint'] as const;

export interface RangeSpec {
  /** Lower bound; inclusive unless `minExclusive`. */
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  integer?: boolean;
  /** Extra words after the bounds, e.g. 'use greedy() for temperature 0'. */
  hint?: string;
}

/** Checks a scalar option: finite, optionally an integer, within bounds. Returns it for chaining. */
export function checkRange(value: number, spec: RangeSpec, name: string): number {
  checkOptions(spec, RANGE_SPEC_KEYS, 'spec');
  const bad =
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (spec.integer === true && !Number.isInteger(value)) ||
    (spec.min !== undefined && (spec.minExclusive ? value <= spec.min : value < spec.min)) ||
    (spec.max !== undefined && (spec.maxExclusive ? value >= spec.max : value > spec.max));
  // the message is built only for a bad value: every op's options pass through here on each call
  if (bad) throw new ValueError(`${name}: expected ${describeRange(spec)}, received ${describeValue(value)}${hintOf(spec)}`);
  return value;
}

function hintOf(spec: RangeSpec): string {
  return spec.hint ? ` (${spec.hint})` : '';
}

function describeRange(spec: RangeSpec): string {
  const kind = spec.integer ? 'an integer' : 'a finite number';
  const lo = spec.min === undefined ? undefined : `${spec.minExclusive ? '>' : '≥'} ${spec.min}`;
  const hi = spec.max === undefined ? undefined : `${spec.maxExclusive ? '<' : '≤'} ${spec.max}`;
  const bounds = [lo, hi].filter((b) => b !== undefined).join(' and ');
  return bounds ? `${kind} ${bounds}` : kind;
}

/**
 * Checks that every element of a float tensor is finite. Asynchronous because WebGPU in Node has no
 * synchronous readback; call it at an API entry that is itself async (samplers, generate loops).
 */
export async function checkFinite(t: Tensor, name: string, opts: FiniteOptions = {}): Promise<void> {
  checkOptions(opts, FINITE_OPTIONS);
  checkLiveTensor(t, name);
  findNonFinite(await t.data(), name, opts);
}

export interface FiniteOptions {
  /** Accept −∞ (masked logits). */
  allowNegInf?: boolean;
}

const FINITE_OPTIONS = ['allowNegInf'] as const;

function findNonFinite(values: ArrayLike<number>, name: string, opts: FiniteOptions): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) continue;
    if (opts.allowNegInf && v === Number.NEGATIVE_INFINITY) continue;
    const expected = opts.allowNegInf ? 'finite values or -Infinity' : 'finite values';
    throw new ValueError(`${name}: expected ${expected}, received ${describeValue(v)} at flat index ${i}`);
  }
}

/**
 * The synchronous form of `checkFinite` for synchronous ops: on backends that keep data in host memory
 * (cpu, wasm) it reads the tensor and throws like `checkFinite`; on WebGPU, which has no synchronous
 * readback in Node, it checks nothing and returns false, so the caller can document that async entry
 * points (which can await `checkFinite`) are where WebGPU inputs get validated. Returns true if checked.
 */
export function checkFiniteSync(t: Tensor, name: string, opts: FiniteOptions = {}): boolean {
  checkOptions(opts, FINITE_OPTIONS);
  checkLiveTensor(t, name);
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') return false;
  // on wasm, a view into the heap (what host kernels read) instead of dataSync's copy: the scan cost as much as a
  // decode step's host kernel; nothing here allocates in the heap while the view is read
  findNonFinite(readHostValues(tf.backend() as unknown as HostValuesBackend, t).values, name, opts);
  return true;
}
