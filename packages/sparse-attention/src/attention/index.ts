import { checkOptions, type Tensor, tf } from '@tessera/tensor-core';
import { runFlash } from '../flash/index.js';
import { checkCausal, checkQkv, resolveScale } from '../flash/validate.js';

export interface AttentionOptions {
  /** Query i sees keys j ≤ i only (needs Lq = Lk). Default false. */
  causal?: boolean;
  /** Multiplies QKᵀ before the softmax. Default D^−1/2. */
  scale?: number;
}

const KNOWN = ['causal', 'scale'] as const;

/**
 * Dense softmax attention, softmax(scale · QKᵀ) V: `q [B, H, Lq, D]`, `k, v [B, H, Lk, D]` →
 * `[B, H, Lq, D]`. On WebGPU a FlashAttention-2-style WGSL kernel (Dao 2023): online softmax over key
 * tiles staged in workgroup memory, no L×L matrix, the log-sum-exp saved for a WGSL backward; on CPU and
 * WASM a typed-array kernel of the same online softmax (float64 accumulation) and its backward. The baseline
 * every sparse figure is compared with. On WebGPU heads wider than 128 run the tfjs composite.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor {
  const o = checkOptions(opts, KNOWN);
  const causal = checkCausal(o.causal);
  const dims = checkQkv(q, k, v, causal);
  const scale = resolveScale(o.scale, dims.d);
  return tf.tidy(() => runFlash(q, k, v, null, { causal, sparse: false, scale, bq: 1, bk: 1 })[0] as Tensor);
}

/** `attention` with its log-sum-exp `[B, H, Lq]` (−∞ for a row with no visible key): `{ output, lse }`. */
export function attentionWithLse(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): { output: Tensor; lse: Tensor } {
  const o = checkOptions(opts, KNOWN);
  const causal = checkCausal(o.causal);
  const dims = checkQkv(q, k, v, causal);
  const scale = resolveScale(o.scale, dims.d);
  const [output, lse] = runFlash(q, k, v, null, { causal, sparse: false, scale, bq: 1, bk: 1 }) as [Tensor, Tensor];
  return { output, lse };
}
