import { checkDtype, checkRange, describeValue, ShapeError, type Tensor, tf, ValueError } from '@tessera/tensor-core';

/** What `validateLogits` learned about a logits tensor. */
export interface LogitsInfo {
  /** B: number of rows (1 for a `[V]` input). */
  rows: number;
  /** V: vocabulary size. */
  vocab: number;
  /** Whether the input was `[B, V]` (true) or `[V]` (false); pass it to `restoreShape`. */
  batched: boolean;
}

/**
 * Validates logits `[B, V]` or `[V]`: float32, B ≥ 1, V ≥ 1. Shape and dtype only — values live on the
 * device and cannot be read synchronously; async entry points add `assertNoNaN`.
 */
export function validateLogits(logits: Tensor, name = 'logits'): LogitsInfo {
  if (logits === null || typeof logits !== 'object' || !Array.isArray((logits as Tensor).shape)) {
    throw new ShapeError(`${name}: expected a tensor of shape [B, V] or [V], received ${describeValue(logits)}`);
  }
  const shape = logits.shape;
  if (shape.length !== 1 && shape.length !== 2) {
    throw new ShapeError(`${name}: expected shape [B, V] or [V], received rank ${shape.length} [${shape.join(', ')}]`);
  }
  checkDtype(logits, 'float32', name);
  const batched = shape.length === 2;
  const rows = batched ? (shape[0] as number) : 1;
  const vocab = shape[shape.length - 1] as number;
  if (rows < 1 || vocab < 1) {
    throw new ShapeError(`${name}: expected B ≥ 1 and V ≥ 1, received shape [${shape.join(', ')}]`);
  }
  return { rows, vocab, batched };
}

/**
 * Rejects NaN anywhere and rows containing +Infinity (−Infinity is a masked token and stays allowed).
 * Asynchronous because WebGPU in Node has no synchronous readback.
 */
export async function assertNoNaN(logits: Tensor, name = 'logits'): Promise<void> {
  const { vocab } = validateLogits(logits, name);
  const values = await logits.data();
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (Number.isNaN(x) || x === Number.POSITIVE_INFINITY) {
      const row = Math.floor(i / vocab);
      const token = i % vocab;
      throw new ValueError(`${name}: expected finite values or -Infinity, received ${describeValue(x)} at row ${row}, token ${token}`);
    }
  }
}

/** Views `[V]` as `[1, V]`; a `[B, V]` tensor comes back as is (same object, caller must not dispose it twice). */
export function asRows(logits: Tensor): tf.Tensor2D {
  return (logits.rank === 1 ? tf.reshape(logits, [1, logits.shape[0] as number]) : logits) as tf.Tensor2D;
}

/** Undoes `asRows` on a `[B, V]` result: `[1, V]` → `[V]` when the input was unbatched. */
export function restoreShape(q: Tensor, batched: boolean): Tensor {
  return batched ? q : tf.reshape(q, [q.shape[q.shape.length - 1] as number]);
}

/** Temperature T: finite and > 0; T = 0 is the argmax limit, which has its own decoder. */
export function checkTemperature(temperature: number, name = 'temperature'): number {
  return checkRange(temperature, { min: 0, minExclusive: true, hint: 'for temperature 0 use greedy()' }, name);
}

/** Nucleus mass p ∈ (0, 1]. */
export function checkTopP(p: number, name = 'p'): number {
  return checkRange(p, { min: 0, minExclusive: true, max: 1 }, name);
}

/** Number of kept tokens k: an integer in [1, V]. */
export function checkTopK(k: number, vocab: number, name = 'k'): number {
  return checkRange(k, { min: 1, max: vocab, integer: true, hint: `V = ${vocab}` }, name);
}

/**
 * Checks that an options argument is a plain object (decoders with a required option cannot default it)
 * and returns it; `expected` lists its fields for the message, e.g. '{ k, temperature? }'.
 */
export function checkOptions<T extends object>(opts: T | undefined, expected: string, name = 'opts'): T {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new ValueError(`${name}: expected an options object ${expected}, received ${describeValue(opts)}`);
  }
  return opts;
}
