import type { TensorInfo, WebGPUKernelContext } from '@tessera/tensor-core';
import type { KernelAttrs, KernelInput } from './kernel-inputs.js';
import { kernelLayout, layoutUniforms } from './kernel-layout.js';
import { StepProgram } from './step.program.js';
import { StepPrepProgram } from './step-prep.program.js';

/** One decoding step on WebGPU: coefficients, angle and rotations (one dispatch), then the state update and read-out. */
export function stepWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<KernelInput, KernelAttrs>): TensorInfo {
  const { x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle } = inputs;
  const [batch, heads, rp] = x.shape as [number, number, number];
  const rank = attrs.rank;
  const layout = kernelLayout(batch, heads, 1, rank, rp / rank, (B.shape[2] as number) / rank, theta.shape[2] as number);
  const uniforms = layoutUniforms(layout);
  const prepWidth = 4 + layout.angles + 2 * rank * layout.stateDim;
  const prep = run(new StepPrepProgram(layout.rows, prepWidth), [dt, A, lambda, theta, angle, B, C], 'float32', uniforms);
  const packed = run(new StepProgram(layout.rows, layout.width), [x, prep, D, ssm, k, v], 'float32', uniforms);
  dispose(prep);
  return { ...packed, shape: [batch, heads, layout.width] };
}
