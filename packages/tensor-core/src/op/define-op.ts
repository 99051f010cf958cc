import type { DataType, NamedAttrMap, Tensor, TensorInfo, TypedArray } from '@tensorflow/tfjs-core';
import { type HostValuesBackend, readHostValues } from '../backend/host-values.js';
import { checkFunction, checkRange } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';
import { THROUGH_REFERENCE } from './gradient-through-reference.js';
import { type OutputSpec, type OutputsBackend, runWebGPUOutputs, type WebGPUOutputsProgram } from './webgpu-outputs.js';
import type { ProgramUniform, WebGPUProgram } from './webgpu-program.js';

/**
 * A tensor's data on the host, as a typed-array kernel sees it. An input's `values` are read-only: on cpu
 * they are the backend's own array and on wasm a view into the WASM heap (no copy), so a kernel that
 * writes into them (a sort, a fill, a quickselect's swaps) corrupts the input tensor — copy first
 * (`slice()`) to work in place. A kernel may return an input's `values` (or a subarray of them) as an
 * output; on wasm defineOp copies such an output before writing it back.
 */
export interface HostTensor {
  shape: number[];
  dtype: DataType;
  values: TypedArray;
}

/** What a WebGPU kernel gets: its inputs (on the GPU), attributes and a way to run programs. */
export interface WebGPUKernelContext<I extends string, A> {
  inputs: Record<I, TensorInfo>;
  attrs: A;
  /** Runs a WGSL program; the returned TensorInfo is owned by the caller (dispose intermediates). */
  run(program: WebGPUProgram, inputs: TensorInfo[], outputDtype: DataType, uniforms?: ProgramUniform[]): TensorInfo;
  /**
   * Runs a WGSL program that writes several outputs (float32 or int32) in one dispatch (`WebGPUOutputsProgram`); the returned
   * TensorInfos are owned by the caller.
   */
  runOutputs(program: WebGPUOutputsProgram, inputs: TensorInfo[], outputs: OutputSpec[], uniforms?: ProgramUniform[]): TensorInfo[];
  /** Frees an intermediate result of `run`. */
  dispose(info: TensorInfo): void;
}

/** What an op returns: one tensor, or several (a kernel with several outputs, e.g. output and state). */
export type OpOutput = Tensor | Tensor[];
/** The host kernel's result for an op returning `R`. */
export type HostOutput<R extends OpOutput> = R extends Tensor[] ? HostTensor[] : HostTensor;
/** The WebGPU kernel's result for an op returning `R`. */
export type InfoOutput<R extends OpOutput> = R extends Tensor[] ? TensorInfo[] : TensorInfo;

export interface GradientSpec<I extends string, A, R extends OpOutput = Tensor> {
  /** Inputs the gradient needs, in the order they arrive in `saved`. */
  inputsToSave?: readonly I[];
  /** Whether the gradient needs the op's output(s); they arrive after the saved inputs. */
  saveOutput?: boolean;
  /**
   * Returns, per input, a thunk computing dL/dinput from dy = dL/doutput (one cotangent per output for
   * a multi-output op; tfjs passes zeros for outputs that did not reach the loss), in tfjs ops.
   */
  grad(dy: R, saved: Tensor[], attrs: A): Partial<Record<I, () => Tensor>>;
}

const OP_SPEC_KEYS = ['kernelName', 'inputs', 'reference', 'outputs', 'host', 'hostBackends', 'webgpu', 'gradient'] as const;

export interface OpSpec<I extends string, A extends object, R extends OpOutput = Tensor> {
  /** tfjs kernel name; unique across Tessera, prefixed 'Tessera'. */
  kernelName: string;
  /** Input names in call order. */
  inputs: readonly I[];
  /** The oracle: plain tfjs ops. Used in tests and on any backend without a kernel. */
  reference(inputs: Record<I, Tensor>, attrs: A): R;
  /** Number of outputs when `R` is an array (a kernel's outputs are fixed in number). */
  outputs?: number;
  /**
   * Typed-array kernel for host-memory backends. Pure: must not call tfjs (on wasm its inputs are views
   * into the WASM heap, which a tfjs call could grow and so detach), and must not write into its inputs'
   * `values` (see `HostTensor`); scratch it keeps across calls must not hold on to them either.
   */
  host?(inputs: Record<I, HostTensor>, attrs: A): HostOutput<R>;
  /**
   * Backends the host kernel is registered for; default `['cpu']`. Add 'wasm' only where the kernel
   * beats the reference there: WASM's own SIMD kernels usually win, and the host kernel pays a copy of
   * its outputs into the WASM heap (its inputs it reads in place).
   */
  hostBackends?: readonly HostBackend[];
  webgpu?(ctx: WebGPUKernelContext<I, A>): InfoOutput<R>;
  gradient?: GradientSpec<I, A, R>;
}

/** A declared op: call it like a function; it dispatches through `tf.engine().runKernel`. */
export interface Op<I extends string, A extends object, R extends OpOutput = Tensor> {
  (inputs: Record<I, Tensor>, attrs: A): R;
  readonly kernelName: string;
  /** The tfjs composite the kernels are tested against. */
  readonly reference: (inputs: Record<I, Tensor>, attrs: A) => R;
  /** Whether the active (or named) backend runs a Tessera kernel rather than the reference. */
  hasKernel(backendName?: string): boolean;
}

/** A host-memory backend as defineOp uses it: reading (readHostValues) and writing typed arrays. */
interface GenericBackend extends HostValuesBackend {
  write(values: TypedArray, shape: number[], dtype: DataType): object;
}

/**
 * Runs a host kernel on a host-memory backend: inputs in, outputs written back as new tensors.
 *
 * On wasm the inputs are views into the WASM heap rather than `readSync`'s copies (which allocated and
 * copied every input on every call: half of `sampleFromLogits`' time at 4 × 8192). That is safe because:
 * (a) host kernels are pure and never call tfjs, so nothing can malloc, grow the heap and detach the
 *     views while the kernel runs;
 * (b) after it returns, each `backend.write` mallocs and may grow the heap, detaching every view — so an
 *     output whose `values` lie in the heap (an input, or a subarray of one, returned as is) is copied out
 *     before the first write;
 * (c) kernels never write into their inputs (`HostTensor`'s contract, which cpu already relied on: its
 *     `readSync` returns the backend's own float32/int32 array, not a copy).
 */
function runHost<I extends string, A>(
  spec: { inputs: readonly I[]; host(inputs: Record<I, HostTensor>, attrs: A): HostTensor | HostTensor[] },
  backend: GenericBackend,
  inputs: Record<string, TensorInfo>,
  attrs: A,
): TensorInfo | TensorInfo[] {
  const heapBuffers = new Set<ArrayBufferLike>();
  const hostInputs = {} as Record<I, HostTensor>;
  for (const name of spec.inputs) {
    const info = inputs[name] as TensorInfo;
    const { values, inHeap } = readHostValues(backend, info);
    if (inHeap) heapBuffers.add(values.buffer);
    hostInputs[name] = { shape: info.shape, dtype: info.dtype, values };
  }
  const result = spec.host(hostInputs, attrs);
  const outputs = Array.isArray(result) ? result : [result];
  // (b): copy every heap-backed output before any write can grow the heap (a later output may be the view)
  const owned = outputs.map((out) => (heapBuffers.has(out.values.buffer) ? { ...out, values: out.values.slice() } : out));
  const infos = owned.map(
    (out): TensorInfo => ({ dataId: backend.write(out.values, out.shape, out.dtype), shape: out.shape, dtype: out.dtype }),
  );
  return Array.isArray(result) ? infos : (infos[0] as TensorInfo);
}

export interface WebGPUBackendLike extends OutputsBackend {
  runWebGPUProgram(program: WebGPUProgram, inputs: TensorInfo[], outputDtype: DataType, uniforms?: ProgramUniform[]): TensorInfo;
  disposeData(dataId: object): boolean;
}

/** The context a WebGPU kernel runs in on `backend`: its programs run and its intermediates freed there. */
export function webgpuKernelContext<I extends string, A>(
  backend: WebGPUBackendLike,
  inputs: Record<I, TensorInfo>,
  attrs: A,
): WebGPUKernelContext<I, A> {
  return {
    inputs,
    attrs,
    run: (program, programInputs, dtype, uniforms) => backend.runWebGPUProgram(program, programInputs, dtype, uniforms),
    runOutputs: (program, programInputs, outputs, uniforms) => runWebGPUOutputs(backend, program, programInputs, outputs, uniforms),
    dispose: (info) => {
      backend.disposeData(info.dataId);
    },
  };
}

/** Backends that keep tensors in host memory, readable through the generic backend interface. */
export type HostBackend = 'cpu' | 'wasm';

const HOST_BACKENDS: ReadonlySet<string> = new Set<HostBackend>(['cpu', 'wasm']);

function checkOpSpec(spec: OpSpec<string, object, OpOutput>): void {
  checkOptions(spec, OP_SPEC_KEYS, 'spec');
  if (typeof spec.kernelName !== 'string' || spec.kernelName === '') {
    throw new ValueError(`spec.kernelName: expected a non-empty string, received ${describeValue(spec.kernelName)}`);
  }
  const where = `defineOp(${spec.kernelName})`;
  if (
    !Array.isArray(spec.inputs) ||
    spec.inputs.some((n) => typeof n !== 'string' || n === '') ||
    new Set(spec.inputs).size !== spec.inputs.length
  ) {
    throw new ValueError(`${where}: spec.inputs: expected an array of distinct input names, received ${describeValue(spec.inputs)}`);
  }
  checkFunction(spec.reference, `${where}: spec.reference`);
  if (spec.host !== undefined) checkFunction(spec.host, `${where}: spec.host`);
  if (spec.webgpu !== undefined) checkFunction(spec.webgpu, `${where}: spec.webgpu`);
  if (spec.outputs !== undefined) checkRange(spec.outputs, { min: 1, integer: true }, `${where}: spec.outputs`);
  const backends = spec.hostBackends;
  if (backends !== undefined && (!Array.isArray(backends) || backends.some((b) => b !== 'cpu' && b !== 'wasm'))) {
    throw new ValueError(`${where}: spec.hostBackends: expected an array of 'cpu' and 'wasm', received ${describeValue(backends)}`);
  }
  if (spec.gradient !== undefined) {
    checkOptions(spec.gradient, ['inputsToSave', 'saveOutput', 'grad'], `${where}: spec.gradient`);
    checkFunction(spec.gradient.grad, `${where}: spec.gradient.grad`);
  }
}

/**
 * Declares an op once: reference, typed-array kernel, WGSL kernel, gradient. Kernels are registered with
 * tfjs' own registry, so `tf.tidy`, memory accounting and `tf.grad` treat the op like a built-in one; a
 * backend with no Tessera kernel runs the reference, which autodiff differentiates directly.
 */
export function defineOp<I extends string, A extends object, R extends OpOutput = Tensor>(spec: OpSpec<I, A, R>): Op<I, A, R> {
  checkOpSpec(spec);
  const { kernelName } = spec;
  const host = spec.host;
  if (host) {
    for (const backendName of spec.hostBackends ?? ['cpu']) {
      tf.registerKernel({
        kernelName,
        backendName,
        kernelFunc: ({ inputs, backend, attrs }) =>
          runHost(
            { inputs: spec.inputs, host: host as (inputs: Record<I, HostTensor>, attrs: A) => HostTensor | HostTensor[] },
            backend as unknown as GenericBackend,
            inputs as Record<string, TensorInfo>,
            attrs as unknown as A,
          ),
      });
    }
  }
  const webgpu = spec.webgpu;
  if (webgpu) {
    tf.registerKernel({
      kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) =>
        webgpu(webgpuKernelContext(backend as unknown as WebGPUBackendLike, inputs as Record<I, TensorInfo>, attrs as unknown as A)),
    });
  }
  const gradient = spec.gradient;
  if (gradient) {
    const toSave = gradient.inputsToSave ?? [];
    tf.registerGradient({
      kernelName,
      inputsToSave: [...toSave],
      outputsToSave: gradient.saveOutput ? new Array<boolean>(spec.outputs ?? 1).fill(true) : [],
      gradFunc: (dy, saved, attrs) => gradient.grad(dy as R, saved, attrs as unknown as A) as Record<string, () => Tensor>,
    });
  }

  const hasKernel = (backendName: string = tf.getBackend()): boolean => tf.getKernel(kernelName, backendName) !== undefined;
  // A gradient through the reference runs the reference forward again in the backward. On a host backend under a
  // gradient tape, running the reference once, on the tape, instead of the host kernel and then the reference costs
  // one forward less (a training step of a delta-rule layer on cpu: 1.5× faster), and the value and its gradient come
  // from the same function. WebGPU keeps its kernel: there the reference is the slow part and the recompute keeps
  // only the inputs alive until the backward.
  const recomputes = (gradient as { [THROUGH_REFERENCE]?: true } | undefined)?.[THROUGH_REFERENCE] === true;
  const op = (inputs: Record<I, Tensor>, attrs: A): R => {
    if (!hasKernel()) return spec.reference(inputs, attrs);
    if (recomputes && tf.engine().isTapeOn() && HOST_BACKENDS.has(tf.getBackend())) return spec.reference(inputs, attrs);
    return tf.engine().runKernel(kernelName, inputs as unknown as Record<string, Tensor>, attrs as unknown as NamedAttrMap) as R;
  };
  return Object.assign(op, { kernelName, reference: spec.reference, hasKernel });
}
