import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { logSoftmaxOp, softmaxOp } from './op.js';
import { type SoftmaxOptions, validateSoftmax } from './validate.js';
import { tfjsSoftmaxIfFinite } from './wasm.js';

export { splitRowChunk } from './kernel.js';
export type { SoftmaxOptions } from './validate.js';

function rowwise(op: typeof softmaxOp, logits: Tensor, opts: SoftmaxOptions | undefined): Tensor {
  const { temperature, batched } = validateSoftmax(logits, opts);
  if (tf.getBackend() === 'wasm') {
    const y = tfjsSoftmaxIfFinite(logits, temperature, op === logSoftmaxOp);
    if (y) return y;
  }
  if (batched) return op({ x: logits }, { temperature });
  return tf.tidy(() => tf.reshape(op({ x: tf.reshape(logits, [1, -1]) }, { temperature }), logits.shape));
}

/**
 * Temperature softmax over the vocabulary, q = softmax(z), z = logits / T: `logits: [B, V] | [V]` float32
 * → q of the same shape, rows summing to 1. The one softmax of Tessera: `@tessera/simplex-decoding`
 * re-exports it as its temperature decoder (the entropic optimum `max ⟨q, s⟩ − T·Σ q log q` over the
 * simplex, arXiv 2602.18292 §3.2). A split-row two-pass WGSL kernel on WebGPU (T divides inside it),
 * a typed-array kernel on CPU, tfjs' SIMD kernel on WASM (the rules below as a composite for rows holding NaN or
 * +∞); differentiable.
 *
 * Non-finite logits, the same on every backend (z after the division, so an overflow of logits / T
 * counts as +∞):
 * - −∞ is a masked token: q = 0. A row that is all −∞ has no distribution: a NaN row.
 * - +∞: the limit of those logits growing together. The m tokens at +∞ share the mass, 1/m each, and
 *   every other token gets 0.
 * - NaN anywhere in a row makes the whole row NaN (no value is read back, so nothing can be rejected
 *   here; async callers check with tensor-core's `checkFinite`).
 */
export function softmax(logits: Tensor, opts?: SoftmaxOptions): Tensor {
  return rowwise(softmaxOp, logits, opts);
}

/**
 * Log-softmax of z = logits / T, z − logsumexp(z): `[B, V] | [V]` → the same shape; differentiable.
 * Non-finite logits as `softmax`: −∞ stays −∞ (an all −∞ row is NaN), m tokens at +∞ get −log m and the
 * others −∞, a NaN makes the row NaN.
 */
export function logSoftmax(logits: Tensor, opts?: SoftmaxOptions): Tensor {
  return rowwise(logSoftmaxOp, logits, opts);
}
