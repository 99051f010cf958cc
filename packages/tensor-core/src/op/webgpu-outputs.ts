import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { checkRange, checkSizes } from '../checks.js';
import { BackendError, describeValue } from '../errors.js';
import { tf } from '../tf.js';
import type { ProgramUniform } from './webgpu-program.js';

/**
 * A WGSL program that writes several tensors in one dispatch. tfjs' programs (`WebGPUProgram`) write one output,
 * so a kernel with four results runs at least four programs, and on a short call (a decode step) each program's
 * ~13 µs of host and dispatch cost is most of the time. Here every output is a `read_write` storage buffer of its
 * own. The preamble declares, in binding order, `outputNames` (`read_write`: `array<f32>`, or `array<i32>` for an
 * int32 output), `variableNames` (`array<f32>`, or `array<i32>` for int32 and bool inputs, `read`) and
 * `uniforms: Uniforms` holding the `uniforms`
 * fields; the user code defines `fn main(workgroup : i32, local : i32)`, called with the flat workgroup index and
 * `local_invocation_index`. The grid is `workgroups` long, folded into a second dimension past the device's
 * per-dimension limit, so `main` must ignore `workgroup ≥ workgroups` (the index is uniform: barriers stay legal).
 */
export interface WebGPUOutputsProgram {
  /** The pipeline cache key: must encode everything `getUserCode` depends on, and the inputs' dtypes. */
  shaderKey: string;
  outputNames: string[];
  variableNames: string[];
  /** Invocations per workgroup, one-dimensional. */
  workgroupSize: number;
  workgroups: number;
  /** Fields of the `Uniforms` struct, WGSL syntax (`rows : i32, scale : f32,`), in the order of the uniform values. */
  uniforms?: string;
  getUserCode(): string;
}

/** An output of a `WebGPUOutputsProgram`: `shape` its tensor's, of `dtype` (default float32). */
export interface OutputSpec {
  shape: number[];
  dtype?: 'float32' | 'int32';
}

interface TensorData {
  dtype: DataType;
  resource?: unknown;
}

interface UniformBinding {
  offset: number;
  size: number;
  buffer: GPUBuffer;
}

/** The parts of tfjs-backend-webgpu 4.22's backend that `runWebGPUOutputs` uses: what its `runWebGPUProgram` uses. */
export interface OutputsBackend {
  device: GPUDevice;
  tensorMap: { get(dataId: object): TensorData };
  pipelineCache: Record<string, GPUComputePipeline | Promise<GPUComputePipeline>>;
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  activeTimers: Array<{ name: string; query: Promise<number> }> | null;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  makeTensorInfo(shape: number[], dtype: DataType): TensorInfo;
  uploadToGPU(dataId: object): void;
  tensorToBinding(info: TensorInfo): GPUBufferBinding;
  makeUniforms(fields: ProgramUniform[]): UniformBinding;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
}

/** Called with each program `runWebGPUOutputs` records (`recordPrograms` listens). */
let observer: ((program: WebGPUOutputsProgram) => void) | undefined;

/** Sets (or, with undefined, clears) the function told of every program `runWebGPUOutputs` records; returns the previous one. */
export function observeOutputsPrograms(
  fn: ((program: WebGPUOutputsProgram) => void) | undefined,
): ((program: WebGPUOutputsProgram) => void) | undefined {
  const before = observer;
  observer = fn;
  return before;
}

function wgslType(dtype: DataType): string {
  return dtype === 'float32' ? 'f32' : 'i32';
}

function shaderSource(program: WebGPUOutputsProgram, outputTypes: DataType[], inputTypes: DataType[]): string {
  const outputs = program.outputNames.map(
    (name, i) => `@group(0) @binding(${i}) var<storage, read_write> ${name} : array<${wgslType(outputTypes[i] as DataType)}>;`,
  );
  const first = program.outputNames.length;
  const inputs = program.variableNames.map(
    (name, i) => `@group(0) @binding(${first + i}) var<storage, read> ${name} : array<${wgslType(inputTypes[i] as DataType)}>;`,
  );
  const uniforms = program.uniforms
    ? `struct Uniforms { ${program.uniforms} };\n@group(0) @binding(${first + inputs.length}) var<uniform> uniforms : Uniforms;`
    : '';
  return `${outputs.join('\n')}
${inputs.join('\n')}
${uniforms}
${program.getUserCode()}
@compute @workgroup_size(${program.workgroupSize})
fn _start(@builtin(local_invocation_index) local : u32, @builtin(workgroup_id) id : vec3<u32>, @builtin(num_workgroups) grid : vec3<u32>) {
  main(i32(id.y * grid.x + id.x), i32(local));
}
`;
}

/**
 * The pipeline of `program` for outputs and inputs of these dtypes, from (or into) tfjs' own pipeline cache, so
 * `warmUpWebGPU` covers it.
 */
function pipelineOf(
  backend: OutputsBackend,
  program: WebGPUOutputsProgram,
  outputTypes: DataType[],
  inputTypes: DataType[],
): GPUComputePipeline | undefined {
  const key = `tessera_outputs:${program.shaderKey}:${program.workgroupSize}:${outputTypes.join(',')}:${inputTypes.join(',')}`;
  let pipeline = backend.pipelineCache[key];
  if (pipeline === undefined) {
    const module = backend.device.createShaderModule({
      code: shaderSource(program, outputTypes, inputTypes),
      label: program.constructor.name,
    });
    const descriptor: GPUComputePipelineDescriptor = {
      compute: { module, entryPoint: '_start' },
      label: program.constructor.name,
      layout: 'auto',
    };
    pipeline = tf.env().getBool('WEBGPU_ENGINE_COMPILE_ONLY')
      ? backend.device.createComputePipelineAsync(descriptor)
      : backend.device.createComputePipeline(descriptor);
    backend.pipelineCache[key] = pipeline;
  }
  return pipeline instanceof Promise ? undefined : pipeline;
}

/**
 * Runs `program` once on tfjs' WebGPU backend, in the backend's own command encoder and compute pass (so it is
 * ordered with tfjs' programs, submitted in its batches, timed by `tf.profile`, compiled ahead by `warmUpWebGPU`),
 * and returns its outputs, tensors of `outputs`' shapes and dtypes that the caller owns. Every output element must be
 * written: the buffers come from tfjs' pool uninitialised.
 */
export function runWebGPUOutputs(
  backend: OutputsBackend,
  program: WebGPUOutputsProgram,
  inputs: TensorInfo[],
  outputs: OutputSpec[],
  uniforms: ProgramUniform[] = [],
): TensorInfo[] {
  const name = program.constructor.name;
  if (inputs.length !== program.variableNames.length) {
    throw new BackendError(`${name}: expected ${program.variableNames.length} inputs, received ${inputs.length}`);
  }
  if (outputs.length !== program.outputNames.length) {
    throw new BackendError(`${name}: expected ${program.outputNames.length} outputs, received ${outputs.length}`);
  }
  outputs.forEach((o, i) => {
    checkSizes(o.shape, `outputs[${i}].shape`);
    if (o.dtype !== undefined && o.dtype !== 'float32' && o.dtype !== 'int32') {
      throw new BackendError(`${name}: outputs[${i}].dtype: expected 'float32' or 'int32', received ${describeValue(o.dtype)}`);
    }
  });
  const limit = backend.device.limits.maxComputeWorkgroupsPerDimension;
  checkRange(program.workgroups, { min: 1, max: limit * limit, integer: true }, `${name}.workgroups`);
  observer?.(program);
  const outputTypes = outputs.map((o) => o.dtype ?? 'float32');
  const inputTypes = inputs.map((info) => backend.tensorMap.get(info.dataId).dtype);
  const pipeline = pipelineOf(backend, program, outputTypes, inputTypes);
  const compileOnly = tf.env().getBool('WEBGPU_ENGINE_COMPILE_ONLY');
  if (pipeline === undefined && !compileOnly) {
    throw new BackendError(`${name}: its pipeline is still compiling; await warmUpWebGPU before running it`);
  }
  const results = outputs.map((o, i) => backend.makeTensorInfo(o.shape, outputTypes[i] as DataType));
  // outputs get their buffers even when nothing is dispatched: tfjs runs a kernel on the CPU for an input without one
  for (const info of [...inputs, ...results]) backend.uploadToGPU(info.dataId);
  // compile-only (warmUpWebGPU): the pipeline is compiling; nothing is dispatched, as in tfjs' runWebGPUProgram
  if (pipeline === undefined) return results;
  const bindings: GPUBindingResource[] = [...results, ...inputs].map((info) => backend.tensorToBinding(info));
  if (program.uniforms) bindings.push(backend.makeUniforms(uniforms));
  for (const info of [...inputs, ...results]) backend.commandQueueOwnedIds.add(info.dataId);
  const bindGroup = backend.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: bindings.map((resource, binding) => ({ binding, resource })),
  });
  const x = Math.min(program.workgroups, limit);
  const y = Math.ceil(program.workgroups / x);
  // what tfjs-backend-webgpu 4.22's recordAndSubmit does after it binds
  const timed = backend.activeTimers != null;
  backend.ensureCommandEncoderReady();
  const encoder = backend.commandEncoder as GPUCommandEncoder;
  if (timed && backend.supportTimestampQuery) {
    backend.endComputePassEncoder();
    backend.querySet ??= backend.device.createQuerySet({ type: 'timestamp', count: backend.querySetCount });
    backend.computePassEncoder = encoder.beginComputePass({
      timestampWrites: { querySet: backend.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  } else {
    backend.computePassEncoder ??= encoder.beginComputePass({});
  }
  const pass = backend.computePassEncoder;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(x, y, 1);
  backend.dispatchCountInPass++;
  if (timed || (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    if (timed) backend.activeTimers?.push({ name, query: backend.getQueryTime() });
    else backend.submitQueue();
  }
  return results;
}
