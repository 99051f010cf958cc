import { checkDtype, checkRange, checkShape, type DimSpec } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import type { Tensor } from '../tf.js';

/**
 * The most elements of a layer weight built from sizes a user passes: 2^28, 1 GiB of float32. Larger
 * requests are errors before anything is allocated; past it tfjs' cpu backend runs out of heap.
 */
export const MAX_WEIGHT_ELEMENTS = 2 ** 28;

/** A positive integer size (a width or a count), `name` naming it. */
export function checkSize(value: number, name: string): number {
  return checkRange(value, { min: 1, max: MAX_WEIGHT_ELEMENTS, integer: true }, name);
}

/** Throws unless a weight of `shape` stays within MAX_WEIGHT_ELEMENTS; `what` names it and the sizes it came from. */
export function checkWeightElements(shape: readonly number[], what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_WEIGHT_ELEMENTS) {
    throw new ValueError(
      `${what}: expected at most ${MAX_WEIGHT_ELEMENTS} elements (2^28, 1 GiB of float32), received shape [${shape.join(', ')}] = ${n}`,
    );
  }
}

/** An optional boolean option: its value, or `fallback` when absent. */
export function checkBoolean(value: unknown, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ValueError(`${name}: expected true or false, received ${describeValue(value)}`);
  return value;
}

/** A Philox seed option: a non-negative safe integer, default 0. */
export function checkSeed(seed: number | undefined, name: string): number {
  return checkRange(seed ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, name);
}

/** `x: [..., dim]`, a live float32 tensor of rank ≥ 1. */
export function checkLastDim(x: Tensor, dim: number, name: string): void {
  const rank = Array.isArray((x as { shape?: unknown } | null)?.shape) ? x.shape.length : 1;
  const spec: DimSpec[] = Array.from({ length: Math.max(rank, 1) }, () => null);
  spec[spec.length - 1] = dim;
  checkShape(x, spec, name);
  checkDtype(x, 'float32', name);
}
