import { BackendError } from '../errors.js';
import { envSwitch } from './env-switch.js';

/** Counters of the bind-group cache on the WebGPU backend's device (`webgpuBindGroupCache`). */
export interface BindGroupCacheStats {
  /** The device was created with the cache (`TESSERA_WEBGPU_BIND_GROUP_CACHE` unset or `1`) and it is on. */
  enabled: boolean;
  /** Bind groups held now; at most `capacity`, the least recently used dropped first. */
  size: number;
  capacity: number;
  /** `createBindGroup` calls answered from the cache, and those that created a bind group. */
  hits: number;
  misses: number;
}

/**
 * How many bind groups the cache holds. A steady loop of ops (a decode step, a fit step, a bench) cycles through
 * a few hundred (pipeline, buffers) combinations at most; each entry is a small Dawn object, but it keeps its
 * buffers alive until evicted, which matters only for buffers dropped without `destroy()` (tfjs destroys or pools
 * its own).
 */
export const BIND_GROUP_CACHE_CAPACITY = 4096;

interface CacheState {
  enabled: boolean;
  entries: Map<string, GPUBindGroup>;
  hits: number;
  misses: number;
}

let state: CacheState | undefined;

/** The bind-group cache's counters; all zero and `enabled: false` before a device was created with it. */
export function webgpuBindGroupCache(): BindGroupCacheStats {
  return {
    enabled: state?.enabled ?? false,
    size: state?.entries.size ?? 0,
    capacity: BIND_GROUP_CACHE_CAPACITY,
    hits: state?.hits ?? 0,
    misses: state?.misses ?? 0,
  };
}

/**
 * Runs `fn` with the cache turned on or off (and emptied on entry), then restores it: for benches that time
 * the same dispatches both ways on one device. A no-op switch where the device has no cache.
 */
export function withBindGroupCache<T>(enabled: boolean, fn: () => T): T {
  if (state === undefined) return fn();
  const before = state.enabled;
  state.enabled = enabled;
  state.entries.clear();
  try {
    return fn();
  } finally {
    state.enabled = before;
  }
}

/**
 * `TESSERA_WEBGPU_BIND_GROUP_CACHE`: `0` creates the device without the cache (every `createBindGroup` reaches
 * Dawn, as under tfjs' own factory); `1` or unset caches.
 */
export function bindGroupCacheWanted(): boolean {
  return envSwitch('TESSERA_WEBGPU_BIND_GROUP_CACHE');
}

/**
 * Makes `device.createBindGroup` return the bind group it made before for the same layout and the same buffer
 * ranges, and `pipeline.getBindGroupLayout(i)` the same layout object each time. tfjs' WebGPU backend creates
 * a fresh bind group for every program it runs, and through Dawn's Node binding that one call costs ~28 µs of
 * host time (measured on the 2-core CI machine, against ~1 µs for setBindGroup and for dispatchWorkgroups): the
 * largest share of the ~55–70 µs a program costs through tfjs (bench/dispatch.bench.ts), on lavapipe and on the
 * H100 alike. A bind group is immutable, so one made from the same descriptor is interchangeable. Buffers are
 * keyed by object identity (a destroyed buffer's entries are never asked for again and age out); descriptors
 * with a label or with a texture or sampler binding go straight to Dawn.
 */
export function cacheBindGroups(device: GPUDevice): void {
  const cache: CacheState = { enabled: true, entries: new Map(), hits: 0, misses: 0 };
  state = cache;
  const ids = new WeakMap<object, number>();
  let nextId = 1;
  const idOf = (object: object): number => {
    let id = ids.get(object);
    if (id === undefined) {
      id = nextId++;
      ids.set(object, id);
    }
    return id;
  };

  const memoiseLayouts = (pipeline: GPUComputePipeline): GPUComputePipeline => {
    const layouts = new Map<number, GPUBindGroupLayout>();
    const get = pipeline.getBindGroupLayout.bind(pipeline);
    pipeline.getBindGroupLayout = (index: number): GPUBindGroupLayout => {
      let layout = layouts.get(index);
      if (layout === undefined) {
        layout = get(index);
        layouts.set(index, layout);
      }
      return layout;
    };
    return pipeline;
  };
  const createPipeline = device.createComputePipeline.bind(device);
  device.createComputePipeline = (descriptor: GPUComputePipelineDescriptor): GPUComputePipeline =>
    memoiseLayouts(createPipeline(descriptor));
  const createPipelineAsync = device.createComputePipelineAsync.bind(device);
  device.createComputePipelineAsync = async (descriptor: GPUComputePipelineDescriptor): Promise<GPUComputePipeline> =>
    memoiseLayouts(await createPipelineAsync(descriptor));

  const keyOf = (descriptor: GPUBindGroupDescriptor): string | undefined => {
    if (descriptor.label !== undefined && descriptor.label !== '') return undefined;
    let key = `${idOf(descriptor.layout)}`;
    for (const entry of descriptor.entries) {
      const resource = entry.resource as GPUBufferBinding;
      // a GPUBufferBinding is a plain object with a `buffer`; views, samplers and bare buffers are not cached
      if (typeof resource !== 'object' || resource === null || !('buffer' in resource)) return undefined;
      key += `|${entry.binding}:${idOf(resource.buffer)}:${resource.offset ?? 0}:${resource.size ?? -1}`;
    }
    return key;
  };
  const create = device.createBindGroup.bind(device);
  device.createBindGroup = (descriptor: GPUBindGroupDescriptor): GPUBindGroup => {
    if (!cache.enabled) return create(descriptor);
    const key = keyOf(descriptor);
    if (key === undefined) return create(descriptor);
    const found = cache.entries.get(key);
    if (found !== undefined) {
      cache.hits++;
      // re-inserted so that Map order is least recently used first
      cache.entries.delete(key);
      cache.entries.set(key, found);
      return found;
    }
    cache.misses++;
    const group = create(descriptor);
    cache.entries.set(key, group);
    if (cache.entries.size > BIND_GROUP_CACHE_CAPACITY) {
      const oldest = cache.entries.keys().next().value as string;
      cache.entries.delete(oldest);
    }
    return group;
  };
}

interface UniformField {
  type: string;
  data: number[];
}

interface UniformBinding {
  offset: number;
  size: number;
  buffer: GPUBuffer;
}

/** The parts of tfjs-backend-webgpu 4.22's backend that `cacheUniforms` replaces and feeds. */
interface UniformsBackend {
  makeUniforms(fields: UniformField[]): UniformBinding;
  uniformPendingDisposal: GPUBuffer[];
}

/** Uniform buffers kept by content; beyond this the least recently used goes back to tfjs' pool. */
export const UNIFORM_CACHE_CAPACITY = 1024;

const numberKey = (x: number): string => (Object.is(x, -0) ? '-0' : `${x}`);

/**
 * Makes the backend's `makeUniforms` return the uniform buffer it filled before for the same fields, instead of a
 * fresh pooled buffer and a `writeBuffer` per program. Beyond saving the write, it is what lets the bind-group
 * cache hit: tfjs hands each program whichever uniform buffer its pool pops, so the (pipeline, buffers) key of a
 * repeated program would rarely repeat. A cached buffer is never written again; an evicted one is queued with
 * the backend's own uniforms and goes back to the pool at its next submit, when no unsubmitted pass can still
 * bind it.
 */
export function cacheUniforms(backend: UniformsBackend): void {
  const make = backend.makeUniforms.bind(backend);
  const entries = new Map<string, UniformBinding>();
  backend.makeUniforms = (fields: UniformField[]): UniformBinding => {
    if (state === undefined || !state.enabled) return make(fields);
    let key = '';
    for (const field of fields) key += `${field.type[0]}${field.data.map(numberKey).join(',')};`;
    const found = entries.get(key);
    if (found !== undefined) {
      entries.delete(key);
      entries.set(key, found);
      return found;
    }
    const binding = make(fields);
    // tfjs queued the buffer for release at the next submit: it stays with the cache instead
    const queued = backend.uniformPendingDisposal.pop();
    if (queued !== binding.buffer)
      throw new BackendError(
        'cacheUniforms: expected tfjs-backend-webgpu 4.22 to queue the uniform buffer last for release, received another buffer',
      );
    entries.set(key, binding);
    if (entries.size > UNIFORM_CACHE_CAPACITY) {
      const [oldest, evicted] = entries.entries().next().value as [string, UniformBinding];
      entries.delete(oldest);
      backend.uniformPendingDisposal.push(evicted.buffer);
    }
    return binding;
  };
}
