import type { DataType, TensorInfo, TypedArray } from '@tensorflow/tfjs-core';

/** What host-memory backends (cpu, wasm) offer for reading a tensor's bytes. */
export interface HostValuesBackend {
  readSync(dataId: object): TypedArray;
  /** tfjs-backend-wasm (≥ 4.x): a typed-array view of a tensor's bytes in the WASM heap, no copy. */
  typedArrayFromHeap?(info: TensorInfo): TypedArray;
}

/** The dtypes `typedArrayFromHeap` views (4.22: float32, int32, bool as Uint8Array); others are read by copy. */
const HEAP_VIEW_DTYPES: ReadonlySet<DataType> = new Set<DataType>(['float32', 'int32', 'bool']);

/**
 * A tensor's values on a host-memory backend, without a copy where the backend allows one: on wasm a view
 * into the WASM heap (`inHeap`), on cpu the backend's own float32/int32 array (`readSync` does not copy
 * those). Read-only either way. A heap view is detached by the next allocation in the heap (any tfjs call,
 * any `backend.write`): read it at once and copy out what must outlive it.
 */
export function readHostValues(backend: HostValuesBackend, info: TensorInfo): { values: TypedArray; inHeap: boolean } {
  if (typeof backend.typedArrayFromHeap === 'function' && HEAP_VIEW_DTYPES.has(info.dtype)) {
    return { values: backend.typedArrayFromHeap(info), inHeap: true };
  }
  return { values: backend.readSync(info.dataId), inHeap: false };
}
