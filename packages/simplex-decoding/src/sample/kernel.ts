import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { GroupSumsProgram } from './group-sums.program.js';
import { InverseCdfProgram } from './inverse-cdf.program.js';
import { groupsFor } from './layout.js';
import { PROBABILITY_WEIGHTS } from './weight-source.js';

/**
 * The WebGPU kernel of `sampleOp`: the group sums of q (`GroupSumsProgram`), then the inverse CDF
 * (`InverseCdfProgram`), the sums freed once read.
 */
export function sampleWebGPU({ inputs: { q, u }, run, dispose }: WebGPUKernelContext<'q' | 'u', Record<string, never>>): TensorInfo {
  const [rows, vocab] = q.shape as [number, number];
  const groups = groupsFor(vocab);
  const uniforms = [...scalarUniforms('int32', [vocab, groups]), ...PROBABILITY_WEIGHTS.uniformData];
  const sums = run(new GroupSumsProgram(rows, groups, PROBABILITY_WEIGHTS), [q], 'float32', uniforms);
  const out = run(new InverseCdfProgram(rows, PROBABILITY_WEIGHTS), [q, sums, u], 'float32', uniforms);
  dispose(sums);
  return out;
}
