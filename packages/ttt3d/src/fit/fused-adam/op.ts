import { defineOp, type ProgramUniform, type TensorInfo, type Tensor, type WebGPUKernelContext } from '@tessera/tensor-core';
import { ADAM_INPUTS, type AdamAttrs, type AdamInput, adamScalars } from './attrs.js';
import { adamUpdateHost } from './host.js';
import { AdamMomentsProgram } from './moments.program.js';
import { AdamParamProgram } from './param.program.js';
import { adamUpdateReference } from './reference.js';

/** Both programs, one after the other: they read the same old moments, so neither waits for the other's output. */
function adamUpdateWebGPU({ inputs, attrs, run }: WebGPUKernelContext<AdamInput, AdamAttrs>): TensorInfo[] {
  const n = inputs.param.shape.reduce((a, b) => a * b, 1);
  const s = adamScalars(attrs);
  const uniforms: ProgramUniform[] = [
    { type: 'int32', data: [n] },
    ...[s.beta1, s.oneMinusBeta1, s.beta2, s.oneMinusBeta2, s.correction1, s.correction2, s.epsilon, s.negLr].map(
      (v): ProgramUniform => ({ type: 'float32', data: [v] }),
    ),
  ];
  const param = run(new AdamParamProgram(inputs.param.shape, n), [inputs.param, inputs.grad, inputs.moments], 'float32', uniforms);
  const moments = run(new AdamMomentsProgram(inputs.moments.shape, n), [inputs.grad, inputs.moments], 'float32', uniforms);
  return [param, moments];
}

/**
 * One fused Adam step of one variable: `param`, its `grad` (same shape) and the interleaved moments
 * `[...shape, 2]` → `[param', moments']` (reference.ts). WebGPU runs two programs (new parameter, new
 * moments) where tfjs' optimizer runs 14 and uploads 8 scalars; cpu and wasm the typed-array step
 * (bit-identical to `tf.train.adam` on cpu; on wasm [10k, 3] took 3-6 ms against 20-30 ms for the reference's
 * kernels on a loaded 2-core VM). Not differentiable: it is the optimiser, never on a tape.
 */
export const adamUpdateOp = defineOp<AdamInput, AdamAttrs, Tensor[]>({
  kernelName: 'TesseraFitAdamUpdate',
  inputs: ADAM_INPUTS,
  outputs: 2,
  reference: (inputs, attrs) => adamUpdateReference(inputs, attrs),
  hostBackends: ['cpu', 'wasm'],
  host: adamUpdateHost,
  webgpu: adamUpdateWebGPU,
});
