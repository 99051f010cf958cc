import { type Tensor, tf } from '@tessera/tensor-core';
import { screenOp } from './screen/op.js';

/** Views `[V]` as `[1, V]`; a `[B, V]` tensor comes back as is (same object, caller must not dispose it twice). */
export function asRows(logits: Tensor): tf.Tensor2D {
  return (logits.rank === 1 ? tf.reshape(logits, [1, logits.shape[0] as number]) : logits) as tf.Tensor2D;
}

/** Undoes `asRows` on a `[B, V]` result: `[1, V]` → `[V]` when the input was unbatched. */
export function restoreShape(q: Tensor, batched: boolean): Tensor {
  return batched ? q : tf.reshape(q, [q.shape[q.shape.length - 1] as number]);
}

/**
 * Scores `z: [B, V]` with the non-finite rules applied (see `screenRows`). A type alias (not an interface)
 * so that it is a tfjs `TensorContainer`: `tf.dispose` and `tf.tidy` take it.
 */
export type ScreenedRows = {
  /** z, with every row that holds a +∞ replaced by its limit: 0 on the +∞ tokens, −∞ elsewhere. */
  z: Tensor;
  /** bool `[B, 1]`: rows with no distribution — a NaN anywhere, or every token −∞. */
  nanRows: Tensor;
};

/**
 * The closed forms' rules for non-finite scores (README, "Non-finite logits"), the same on every backend
 * (`screenOp`: a host kernel on CPU and WASM, tfjs ops on WebGPU): the tokens of a row at +∞ share its
 * mass (the limit of those scores growing together, so a +∞ row is replaced by 0 on them and −∞
 * elsewhere before the decoder runs), and a row holding a NaN, or only −∞, has no distribution and
 * becomes a NaN row (`nanRowsOf` on the result).
 */
export function screenRows(z: Tensor): ScreenedRows {
  const [screened, nanRows] = screenOp({ z }, {}) as [Tensor, Tensor];
  return { z: screened, nanRows };
}

/**
 * `q: [B, V]` with the rows flagged in `nanRows` (bool `[B, 1]`) set to NaN: q + (NaN or 0 per row), a
 * broadcast add where a select would first tile the flags to `[B, V]` (slow on WASM: 2.4 ms at 4×8192).
 * q + 0 is q (a +0 only where q holds −0).
 */
export function nanRowsOf(q: Tensor, nanRows: Tensor): Tensor {
  return tf.tidy(() => tf.add(q, tf.where(nanRows, tf.fill(nanRows.shape, Number.NaN, 'float32'), tf.zeros(nanRows.shape, 'float32'))));
}
