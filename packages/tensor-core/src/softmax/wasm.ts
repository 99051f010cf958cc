import type { Tensor } from '@tensorflow/tfjs-core';
import { type HostValuesBackend, readHostValues } from '../backend/host-values.js';
import { tf } from '../tf.js';

/**
 * (Log-)softmax of logits / T on tfjs-backend-wasm through its own SIMD kernel, where that kernel already
 * follows `softmax`'s non-finite rules: rows with no NaN and no +∞ (after the division). There it gives −∞ → 0
 * (log: −∞) and an all −∞ row → NaN, as the rules say; the rules as a composite (the op's reference, 14 tfjs ops)
 * made softmax 20× slower than `tf.softmax` on wasm (1.22 against 0.059 ms at 4 × 8192).
 * One float64 pass over a heap view of z decides: Σ z is finite or −∞ exactly when no entry is NaN or +∞ (float64
 * cannot overflow on float32 terms, and +∞ or NaN never leaves a sum). Returns undefined where the op must run.
 * `logits: [B, V] | [V]` → the same shape.
 */
export function tfjsSoftmaxIfFinite(logits: Tensor, temperature: number, log: boolean): Tensor | undefined {
  const z = temperature === 1 ? logits : tf.tidy(() => tf.div(logits, tf.scalar(temperature, 'float32')));
  if (!hasNoNaNOrPosInf(z)) {
    if (z !== logits) z.dispose();
    return undefined;
  }
  const y = log ? tf.logSoftmax(z) : tf.softmax(z);
  if (z !== logits) z.dispose();
  return y;
}

function hasNoNaNOrPosInf(z: Tensor): boolean {
  // read at once: the view is detached by the next allocation in the heap
  const v = readHostValues(tf.backend() as unknown as HostValuesBackend, z).values;
  // four partial sums: 3–4× the speed of one in V8 (0.027 ms for 32768 values)
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n4 = v.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    s0 += v[i] as number;
    s1 += v[i + 1] as number;
    s2 += v[i + 2] as number;
    s3 += v[i + 3] as number;
  }
  for (let i = n4; i < v.length; i++) s0 += v[i] as number;
  const s = s0 + s1 + s2 + s3;
  return !Number.isNaN(s) && s !== Number.POSITIVE_INFINITY;
}
