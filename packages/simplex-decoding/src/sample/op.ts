import { defineOp, type HostTensor, scalarUniforms, type Tensor } from '@tessera/tensor-core';
import { blockedInverseCdf } from './blocked-cdf.js';
import { GroupSumsProgram } from './group-sums.program.js';
import { InverseCdfProgram } from './inverse-cdf.program.js';
import { groupsFor } from './layout.js';
import { inverseCdfReference } from './reference.js';
import { PROBABILITY_WEIGHTS } from './weight-source.js';

type Attrs = Record<string, never>;

function sampleHost(q: HostTensor, u: HostTensor): HostTensor {
  const [rows, vocab] = q.shape as [number, number];
  const values = q.values as Float32Array;
  const out = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    const draw = blockedInverseCdf(values.subarray(r * vocab, (r + 1) * vocab), u.values[r] as number);
    out[2 * r] = draw.id;
    out[2 * r + 1] = draw.logprob;
  }
  return { shape: [rows, 2], dtype: 'float32', values: out };
}

/**
 * `q: [B, V]`, `u: [B]` → `[B, 2]` (id, logprob) by the blocked inverse CDF. The host kernel also runs on
 * WASM: it is the same arithmetic as the WGSL, so ids agree bit for bit on every backend.
 */
export const sampleOp = defineOp<'q' | 'u', Attrs>({
  kernelName: 'TesseraSampleInverseCdf',
  inputs: ['q', 'u'],
  reference: ({ q, u }) => inverseCdfReference(q as Tensor, u as Tensor),
  hostBackends: ['cpu', 'wasm'],
  host: ({ q, u }) => sampleHost(q, u),
  webgpu: ({ inputs: { q, u }, run, dispose }) => {
    const [rows, vocab] = q.shape as [number, number];
    const groups = groupsFor(vocab);
    const uniforms = [...scalarUniforms('int32', [vocab, groups]), ...PROBABILITY_WEIGHTS.uniformData];
    const sums = run(new GroupSumsProgram(rows, groups, PROBABILITY_WEIGHTS), [q], 'float32', uniforms);
    const out = run(new InverseCdfProgram(rows, PROBABILITY_WEIGHTS), [q, sums, u], 'float32', uniforms);
    dispose(sums);
    return out;
  },
});
