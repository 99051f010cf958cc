import { defineOp, scalarUniforms, type Tensor } from '@tessera/tensor-core';
import { GroupSumsProgram } from '../sample/group-sums.program.js';
import { InverseCdfProgram } from '../sample/inverse-cdf.program.js';
import { groupsFor } from '../sample/layout.js';
import type { FusedAttrs } from './attrs.js';
import { fusedHost } from './host.js';
import { fusedReference } from './reference.js';
import { SelectProgram } from './select.program.js';
import { keptLogitWeights } from './weights.js';

/**
 * `logits: [B, V]`, `u: [B]` → `[B, 2]` (id, logprob). WebGPU: the selection program (pivot search, and
 * the draw itself when the kept set fits in workgroup memory), then for the other rows the blocked
 * inverse CDF of `sample` over the kept weights. The host kernel also serves WASM, where it beats the
 * composite (which needs a full top-k sort for top-p).
 */
export const fusedSampleOp = defineOp<'logits' | 'u', FusedAttrs>({
  kernelName: 'TesseraSampleFromLogits',
  inputs: ['logits', 'u'],
  reference: ({ logits, u }, attrs) => fusedReference(logits as Tensor, u as Tensor, attrs),
  hostBackends: ['cpu', 'wasm'],
  host: ({ logits, u }, attrs) => fusedHost(logits, u, attrs),
  webgpu: ({ inputs: { logits, u }, attrs, run, dispose }) => {
    const [rows, vocab] = logits.shape as [number, number];
    const { temperature, k, p, pMin } = attrs;
    const params = run(new SelectProgram(rows), [logits, u], 'int32', [
      ...scalarUniforms('int32', [vocab, k]),
      ...scalarUniforms('float32', [temperature, p, pMin]),
    ]);
    const groups = groupsFor(vocab);
    const source = keptLogitWeights(temperature, pMin);
    const uniforms = [...scalarUniforms('int32', [vocab, groups]), ...source.uniformData];
    const sums = run(new GroupSumsProgram(rows, groups, source), [logits, params], 'float32', uniforms);
    const out = run(new InverseCdfProgram(rows, source), [logits, params, sums, u], 'float32', uniforms);
    dispose(params);
    dispose(sums);
    return out;
  },
});
