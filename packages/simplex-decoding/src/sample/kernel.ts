import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { drawOutputDtype } from './draw-output.js';
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
 * (`InverseCdfProgram`, each row's uniform drawn inside) once for the ids and once for the logprobs (a
 * program has one output), the sums freed once read: 3 programs.
 */
export function sampleWebGPU({ inputs: { q }, attrs, run, dispose }: WebGPUKernelContext<'q', SampleAttrs>): TensorInfo[] {
  const [rows, vocab] = q.shape as [number, number];
  const groups = groupsFor(vocab);
  const uniforms = [...scalarUniforms('int32', [vocab, groups]), ...PROBABILITY_WEIGHTS.uniformData];
  const sums = run(new GroupSumsProgram(rows, groups, PROBABILITY_WEIGHTS), [q], 'float32', uniforms);
  const stream = rowUniformData(attrs.seed, attrs.offset);
  const outputs = (['id', 'logprob'] as const).map((output) =>
    run(new InverseCdfProgram(rows, PROBABILITY_WEIGHTS, { uniform: 'philox', output }), [q, sums], drawOutputDtype(output), [
      ...uniforms,
      ...stream,
    ]),
  );
  dispose(sums);
  return outputs;
}
