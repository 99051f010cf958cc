import { checkRange, checkShape, describeValue, type DimSpec, type Tensor, ValueError } from '@tessera/tensor-core';

/**
 * The most elements of any one tensor this package allocates from sizes a user passes (layer weights,
 * zero states): 2^28, 1 GiB of float32. Larger requests are errors before anything is allocated;
 * past it tfjs' cpu backend runs out of heap and WebGPU out of buffer size.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/**
 * The longest chunk of the chunked forms: the tfjs form holds (C·R)² floats per chunk (R the Mamba-3
 * rank), so a chunk much longer than fla's and mamba_ssm's 64 costs memory and buys nothing (the WGSL
 * kernels cap their tiles at 64 tokens anyway).
 */
export const MAX_CHUNK_SIZE = 256;

/** A positive integer size (a dimension or a count), `name` naming it. */
export function checkSize(value: number, name: string): number {
  return checkRange(value, { min: 1, max: MAX_TENSOR_ELEMENTS, integer: true }, name);
}

/** Throws unless a tensor of `shape` stays within MAX_TENSOR_ELEMENTS; `what` names it and the sizes it came from. */
export function checkElements(shape: readonly number[], what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new ValueError(
      `${what}: expected at most ${MAX_TENSOR_ELEMENTS} elements (2^28, 1 GiB of float32), received shape [${shape.join(', ')}] = ${n}`,
    );
  }
}

/** An optional boolean option: its value, or `fallback` when absent. */
export function checkBoolean(value: unknown, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ValueError(`${name}: expected true or false, received ${describeValue(value)}`);
  return value;
}

/** A chunk size option, default 64 (fla's BT, mamba_ssm's chunk_size). */
export function checkChunkSize(value: number | undefined, name: string): number {
  return checkRange(value ?? 64, { min: 1, max: MAX_CHUNK_SIZE, integer: true }, name);
}

/**
 * Checks that `t` is a live tensor of rank ≥ `minRank` whose last dimension is `last` (any when null)
 * and whose leading dimensions equal `leading` when given; returns its shape. Every tensor argument
 * goes through tensor-core's checkShape, which names a non-tensor and a disposed tensor.
 */
export function checkTensor(
  t: Tensor,
  name: string,
  opts: { minRank?: number; last?: number | null; leading?: readonly number[] } = {},
): number[] {
  const rank = Array.isArray((t as { shape?: unknown } | null)?.shape) ? t.shape.length : 0;
  const minRank = opts.minRank ?? 0;
  const spec: DimSpec[] = Array.from({ length: Math.max(rank, minRank) }, () => null);
  if (opts.leading !== undefined) {
    spec.length = opts.leading.length + 1;
    opts.leading.forEach((d, i) => {
      spec[i] = d;
    });
  }
  if (opts.last !== undefined && opts.last !== null && spec.length > 0) spec[spec.length - 1] = opts.last;
  checkShape(t, spec, name);
  return t.shape.slice();
}
