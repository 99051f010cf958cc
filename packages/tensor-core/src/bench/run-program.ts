import type { DataType, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { BackendError } from '../errors.js';
import { type WebGPUBackendLike, type WebGPUKernelContext, webgpuKernelContext } from '../op/define-op.js';
import type { ProgramUniform, WebGPUProgram } from '../op/webgpu-program.js';
import { tf } from '../tf.js';

/**
 * Runs one WGSL program on the active WebGPU backend and returns its output as a tensor, for benches
 * that time the programs of a kernel one by one. Build a fresh program object for every call: tfjs
 * appends the input shapes to `shaderKey` on each run, so a reused object is recompiled every time.
 */
export function runProgram(program: WebGPUProgram, inputs: TensorInfo[], uniforms?: ProgramUniform[], dtype: DataType = 'float32'): Tensor {
  const name = tf.getBackend();
  if (name !== 'webgpu') throw new BackendError(`runProgram: expected the webgpu backend, received '${name}'`);
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  return tf.engine().makeTensorFromTensorInfo(backend.runWebGPUProgram(program, inputs, dtype, uniforms));
}

/**
 * Runs a WebGPU kernel function (a `defineOp`'s `webgpu`, or a variant of it that takes extra arguments) on the
 * active WebGPU backend outside the op, with the context `defineOp` gives it, and returns its outputs as tensors:
 * for tests and benches that compare a kernel's variants on one device.
 */
export function runKernel<I extends string, A>(
  kernel: (ctx: WebGPUKernelContext<I, A>) => TensorInfo,
  inputs: Record<I, TensorInfo>,
  attrs: A,
): Tensor;
export function runKernel<I extends string, A>(
  kernel: (ctx: WebGPUKernelContext<I, A>) => TensorInfo[],
  inputs: Record<I, TensorInfo>,
  attrs: A,
): Tensor[];
export function runKernel<I extends string, A>(
  kernel: (ctx: WebGPUKernelContext<I, A>) => TensorInfo | TensorInfo[],
  inputs: Record<I, TensorInfo>,
  attrs: A,
): Tensor | Tensor[] {
  const name = tf.getBackend();
  if (name !== 'webgpu') throw new BackendError(`runKernel: expected the webgpu backend, received '${name}'`);
  const out = kernel(webgpuKernelContext(tf.backend() as unknown as WebGPUBackendLike, inputs, attrs));
  const engine = tf.engine();
  return Array.isArray(out) ? out.map((info) => engine.makeTensorFromTensorInfo(info)) : engine.makeTensorFromTensorInfo(out);
}
