import { checkDtype, checkRange, describeValue, ShapeError, type Tensor, ValueError } from '@tessera/tensor-core';

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
 * Validates logits `[B, V]` or `[V]`: a live float32 tensor, B ≥ 1, V ≥ 1. Shape and dtype only — values
 * live on the device and cannot be read synchronously; async entry points add `checkLogitValues`.
 */
export function validateLogits(logits: Tensor, name = 'logits'): LogitsInfo {
  if (logits === null || typeof logits !== 'object' || !Array.isArray((logits as Tensor).shape)) {
    throw new ShapeError(`${name}: expected a tensor of shape [B, V] or [V], received ${describeValue(logits)}`);
  }
  if (logits.isDisposed) {
    throw new ValueError(`${name}: expected a live tensor, received a disposed Tensor<${logits.dtype}>[${logits.shape.join(', ')}]`);
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
 * The samplers' value check (they read values back, so they can reject): NaN anywhere and +∞ are errors
 * naming the row and token; −∞ is a masked token and stays allowed. Asynchronous because WebGPU in Node
 * has no synchronous readback.
 */
export async function checkLogitValues(logits: Tensor, name = 'logits'): Promise<void> {
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
