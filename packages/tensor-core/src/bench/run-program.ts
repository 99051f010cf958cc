import type { DataType, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { BackendError } from '../errors.js';
import type { WebGPUBackendLike } from '../op/define-op.js';
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
