import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { drawOutputs, drawUniformData } from './draw-output.js';
import { GroupSumsProgram } from './group-sums.program.js';
import { InverseCdfProgram } from './inverse-cdf.program.js';
import { groupsFor } from './layout.js';
import { rowUniformData } from './row-uniform.wgsl.js';
import { PROBABILITY_WEIGHTS } from './weight-source.js';

/** Attributes of `sampleOp`: the Philox stream of the row uniforms. */
export interface SampleAttrs {
  seed: number;
  offset: number;
}

/**
 * The WebGPU kernel of `sampleOp`: the group sums of q (`GroupSumsProgram`), then the inverse CDF
 * (`InverseCdfProgram`, each row's uniform drawn inside), writing the ids and the logprobs in one dispatch, the
 * sums freed once read: 2 programs.
 */
export function sampleWebGPU({ inputs: { q }, attrs, run, runOutputs, dispose }: WebGPUKernelContext<'q', SampleAttrs>): TensorInfo[] {
  const [rows, vocab] = q.shape as [number, number];
  const groups = groupsFor(vocab);
  const uniforms = [...scalarUniforms('int32', [vocab, groups]), ...PROBABILITY_WEIGHTS.uniformData];
  const sums = run(new GroupSumsProgram(rows, groups, PROBABILITY_WEIGHTS), [q], 'float32', uniforms);
  const stream = rowUniformData(attrs.seed, attrs.offset);
  const outputs = runOutputs(new InverseCdfProgram(rows, PROBABILITY_WEIGHTS), [q, sums], drawOutputs(rows), [
    ...drawUniformData(rows),
    ...uniforms,
    ...stream,
  ]);
  dispose(sums);
  return outputs;
}
