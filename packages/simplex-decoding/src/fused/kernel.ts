import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { GroupSumsProgram } from '../sample/group-sums.program.js';
import { InverseCdfProgram } from '../sample/inverse-cdf.program.js';
import { groupsFor } from '../sample/layout.js';
import type { FusedAttrs } from './attrs.js';
import { SelectProgram } from './select.program.js';
import { keptLogitWeights } from './weights.js';

/**
 * The WebGPU kernel of `fusedSampleOp`: the selection program (row flags, cuts, and the draw of the rows
 * whose kept set fits in workgroup memory), then `sample`'s blocked inverse CDF over the kept weights
 * for the other rows; each intermediate freed once read.
 */
export function fusedWebGPU({ inputs: { logits, u }, attrs, run, dispose }: WebGPUKernelContext<'logits' | 'u', FusedAttrs>): TensorInfo {
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
}
