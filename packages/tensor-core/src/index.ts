export { tf } from './tf.js';
export type { DataType, NamedAttrMap, Rank, Tensor, TensorContainer, TensorInfo, TypedArray, Variable } from './tf.js';
export {
  AbortError,
  BackendError,
  DtypeError,
  describeValue,
  FormatError,
  ShapeError,
  TesseraError,
  ValueError,
} from './errors.js';
export {
  checkDtype,
  checkFinite,
  checkFiniteSync,
  checkFunction,
  checkLiveTensor,
  checkRange,
  checkShape,
  checkSizes,
  type DimSpec,
  type Dims,
  type FiniteOptions,
  MAX_TENSOR_ELEMENTS,
  type RangeSpec,
} from './checks.js';
export {
  activeBackend,
  initBackend,
  loadWasm,
  type BackendChoice,
  type BackendName,
  type BackendPreference,
} from './backend/init-backend.js';
export { webgpuStorageBufferLimit, webgpuSubgroups, type WebGPUSubgroups } from './backend/webgpu-device.js';
export { BIND_GROUP_CACHE_CAPACITY, type BindGroupCacheStats, webgpuBindGroupCache } from './backend/bind-group-cache.js';
export { WASM_HEAP_LIMIT, wasmHeapBytes, wasmHeapExhausted } from './backend/wasm-heap.js';
export { probeWebGPU, type GpuProbe } from './backend/webgpu-provider.js';
export {
  defineOp,
  type GradientSpec,
  type HostBackend,
  type HostTensor,
  type Op,
  type OpSpec,
  type WebGPUKernelContext,
} from './op/define-op.js';
export type { OutputSpec, WebGPUOutputsProgram } from './op/webgpu-outputs.js';
export {
  flatGrid,
  LINEAR_WORKGROUP_INDEX,
  scalarUniforms,
  type ProgramUniform,
  type UniformType,
  type WebGPUProgram,
} from './op/webgpu-program.js';
export { vjp } from './op/vjp.js';
export { gradientThroughReference } from './op/gradient-through-reference.js';
export { checkOptions } from './options/index.js';
export { checkSignal, throwIfAborted, yieldToEventLoop } from './abort.js';
export { deviceZeros } from './device-zeros.js';
export { stopGradient } from './stop-gradient.js';
export { warmUpWebGPU } from './backend/warm-up.js';
export { writeFileAtomic } from './io/write-file-atomic.js';
export { logSoftmax, type SoftmaxOptions, softmax, splitRowChunk } from './softmax/index.js';
export { ONLINE_SOFTMAX_WGSL, onlineSoftmaxWgsl, SOFTMAX_WORKGROUP } from './softmax/online-softmax.wgsl.js';
export { philox4x32, philoxUniform, philoxUniformArray, type PhiloxOptions } from './philox/index.js';
export { PHILOX_WGSL } from './philox/philox.wgsl.js';
export { philoxNormal, type PhiloxNormalOptions } from './philox/normal.js';
export * from './safetensors/index.js';
export * from './module/index.js';
export * from './nn/index.js';
