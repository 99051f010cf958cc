import { BackendError } from '../errors.js';
import { tf } from '../tf.js';
import { envSwitch } from './env-switch.js';
import { bindGroupCacheWanted, cacheBindGroups, cacheUniforms } from './bind-group-cache.js';

/** What the WebGPU device offers the kernels' subgroup variants (`webgpuSubgroups`). */
export interface WebGPUSubgroups {
  /** The device has the `subgroups` feature and every shader module starts with `enable subgroups;`. */
  enabled: boolean;
  /** The adapter's smallest and largest subgroup size (0 where it reports none); a kernel must work for any size between. */
  minSize: number;
  maxSize: number;
}

const NONE: WebGPUSubgroups = { enabled: false, minSize: 0, maxSize: 0 };
let subgroups: WebGPUSubgroups = NONE;

/**
 * Whether the WebGPU backend's device was created with the `subgroups` feature, and the adapter's subgroup
 * sizes: kernels with a subgroup variant pick it by `enabled` (and put the choice in their `shaderKey`).
 * False before the backend starts, where the adapter lacks the feature, where `TESSERA_WEBGPU_SUBGROUPS=0`,
 * and where the backend was not started through tensor-core (tfjs' own factory requests no subgroups).
 */
export function webgpuSubgroups(): WebGPUSubgroups {
  return { ...subgroups };
}

/**
 * Storage buffers one WGSL program may bind on the active WebGPU device (`maxStorageBuffersPerShaderStage`, which
 * tensor-core's device requests at the adapter's maximum): a program binds one per input and one for its output.
 * WebGPU guarantees 8; 0 when the active backend is not WebGPU. Kernels with a variant that binds more check it.
 */
export function webgpuStorageBufferLimit(): number {
  const backend = tf.backend() as unknown as { device?: GPUDevice };
  return tf.getBackend() === 'webgpu' ? (backend.device?.limits.maxStorageBuffersPerShaderStage ?? 8) : 0;
}

/**
 * `TESSERA_WEBGPU_SUBGROUPS`: `0` creates the device without subgroups even where the adapter has them (the
 * portable kernels, tested and benchmarked on the same adapter); `1` or unset requests them where offered.
 */
export function subgroupsWanted(): boolean {
  return envSwitch('TESSERA_WEBGPU_SUBGROUPS');
}

interface WebGPUBackendClass {
  new (device: GPUDevice, adapterInfo?: GPUAdapterInfo): tf.KernelBackend;
}

/** Prepends `enable subgroups;` to every shader module of `device` (an extension enabled and unused is legal WGSL). */
function enableSubgroupsInShaders(device: GPUDevice): void {
  const create = device.createShaderModule.bind(device);
  device.createShaderModule = (descriptor: GPUShaderModuleDescriptor): GPUShaderModule =>
    create({ ...descriptor, code: `enable subgroups;\n${descriptor.code}` });
}

/**
 * Replaces the factory that tfjs-backend-webgpu 4.22 registers on import by one that creates the device the
 * same way (adapter by `WEBGPU_USE_LOW_POWER_GPU`, `timestamp-query` and `bgra8unorm-storage` where offered,
 * the adapter's workgroup-storage, dispatch, buffer and workgroup-size limits, priority 3) and also requests
 * `subgroups` where the adapter has them. tfjs writes its own preamble at the top of every shader, so a
 * program cannot place the `enable` directive, which must precede all declarations: the device's
 * `createShaderModule` prepends it. The device also caches bind groups (`cacheBindGroups`, the largest part of
 * what a program costs the host through tfjs). Call before the backend is initialised.
 */
export function registerWebGPUBackend(WebGPUBackend: WebGPUBackendClass): void {
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const want = subgroupsWanted();
      const cacheWanted = bindGroupCacheWanted();
      const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
      const adapter = await gpu?.requestAdapter({
        powerPreference: tf.env().get('WEBGPU_USE_LOW_POWER_GPU') ? 'low-power' : 'high-performance',
      });
      if (!adapter) throw new BackendError('webgpu: requestAdapter found no adapter');
      const requiredFeatures: GPUFeatureName[] = [];
      for (const feature of ['timestamp-query', 'bgra8unorm-storage'] as const) {
        if (adapter.features.has(feature)) requiredFeatures.push(feature);
      }
      const useSubgroups = want && adapter.features.has('subgroups');
      // @webgpu/types 0.1 predates the feature's name
      if (useSubgroups) requiredFeatures.push('subgroups' as GPUFeatureName);
      const limits = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
          // beyond tfjs' factory: kernels with more than WebGPU's default 8 storage buffers take a fused variant
          // where the adapter allows it (Dawn on the H100 and lavapipe: 16; see webgpuStorageBufferLimit)
          maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
        },
      });
      const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
      const enabled = useSubgroups && device.features.has('subgroups');
      if (enabled) enableSubgroupsInShaders(device);
      if (cacheWanted) cacheBindGroups(device);
      subgroups = { enabled, minSize: info.subgroupMinSize ?? 0, maxSize: info.subgroupMaxSize ?? 0 };
      const backend = new WebGPUBackend(device, info);
      if (cacheWanted) cacheUniforms(backend as unknown as Parameters<typeof cacheUniforms>[0]);
      return backend;
    },
    3,
  );
}
