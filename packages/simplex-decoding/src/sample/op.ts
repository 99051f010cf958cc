import { defineOp, type HostTensor, type Tensor } from '@tessera/tensor-core';
import { drawDense } from './blocked-draw.js';
import { sampleWebGPU } from './kernel.js';
import { inverseCdfReference } from './reference.js';

type Attrs = Record<string, never>;

function sampleHost(q: HostTensor, u: HostTensor): HostTensor {
  const [rows, vocab] = q.shape as [number, number];
  const values = q.values as Float32Array;
  const out = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    const draw = drawDense(values.subarray(r * vocab, (r + 1) * vocab), u.values[r] as number);
    out[2 * r] = draw.id;
    out[2 * r + 1] = draw.logprob;
  }
  return { shape: [rows, 2], dtype: 'float32', values: out };
}

/**
 * `q: [B, V]`, `u: [B]` → `[B, 2]` (id, logprob) by the blocked inverse CDF. The host kernel also runs on
 * WASM: it is the same arithmetic as the WGSL (kernel.ts), so ids agree bit for bit on every backend.
 * Measured on WASM (2-core VM, 2026-12-06), `sample` against `tf.multinomial` on the same logits: 1.4–1.7×
 * at 4×8192 and 2× at 16×32768, but 0.9× at 1×131072 (one row: one sequential host pass; measured while
 * host kernels still copied their inputs out of the WASM heap, which defineOp no longer does — not re-measured)
 * and 0.25× at 1×256 (three tfjs calls — uniforms, this op, the split — against one).
 * There is no route to `tf.multinomial` at those sizes: it draws other ids (its own generator, its own
 * summation order), and the same ids on every backend are this op's contract.
 */
export const sampleOp = defineOp<'q' | 'u', Attrs>({
  kernelName: 'TesseraSampleInverseCdf',
  inputs: ['q', 'u'],
  reference: ({ q, u }) => inverseCdfReference(q as Tensor, u as Tensor),
  hostBackends: ['cpu', 'wasm'],
  host: ({ q, u }) => sampleHost(q, u),
  webgpu: sampleWebGPU,
});
