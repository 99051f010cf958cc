import { defineOp, type HostTensor, philoxUniform, philoxUniformArray, type Tensor, tf } from '@tessera/tensor-core';
import { drawDense } from './blocked-draw.js';
import { splitDraws } from './draws.js';
import { type SampleAttrs, sampleWebGPU } from './kernel.js';
import { inverseCdfReference } from './reference.js';

function sampleHost(q: HostTensor, { seed, offset }: SampleAttrs): HostTensor[] {
  const [rows, vocab] = q.shape as [number, number];
  const values = q.values as Float32Array;
  const u = philoxUniformArray(rows, seed, offset);
  const ids = new Int32Array(rows);
  const logprobs = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const draw = drawDense(values.subarray(r * vocab, (r + 1) * vocab), u[r] as number);
    ids[r] = draw.id;
    logprobs[r] = draw.logprob;
  }
  return [
    { shape: [rows], dtype: 'int32', values: ids },
    { shape: [rows], dtype: 'float32', values: logprobs },
  ];
}

/**
 * `q: [B, V]` → `[ids int32 [B], logprobs float32 [B]]` by the blocked inverse CDF, row b drawing the Philox
 * uniform at stream position offset + b (`philoxUniform`'s numbers) inside the kernel: one op a call, where
 * the uniforms, a `[B, 2]` draw and its split and cast were five tfjs calls (`sample` at 1 × 256 on WASM took
 * 0.08 ms against 0.03 ms for `tf.multinomial`, 2-core VM, 2026-12-07). The host kernel also runs on WASM: it
 * is the same arithmetic as the WGSL (kernel.ts), so ids agree bit for bit on every backend. There is no
 * route to `tf.multinomial`: it draws other ids (its own generator, its own summation order), and the same
 * ids on every backend are this op's contract.
 */
export const sampleOp = defineOp<'q', SampleAttrs, Tensor[]>({
  kernelName: 'TesseraSampleInverseCdf',
  inputs: ['q'],
  outputs: 2,
  reference: ({ q }, { seed, offset }) =>
    tf.tidy(() => {
      const u = philoxUniform([q.shape[0] as number], { seed, offset });
      const { ids, logprobs } = splitDraws(inverseCdfReference(q, u));
      return [ids, logprobs];
    }),
  hostBackends: ['cpu', 'wasm'],
  host: ({ q }, attrs) => sampleHost(q, attrs),
  webgpu: sampleWebGPU,
});
