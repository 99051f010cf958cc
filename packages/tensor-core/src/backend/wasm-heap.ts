import { BackendError } from '../errors.js';
import { tf } from '../tf.js';

/** The most a 32-bit WebAssembly memory can grow to: tfjs-backend-wasm's heap cannot pass it. */
export const WASM_HEAP_LIMIT = 2 ** 32;

/** Bytes of the wasm backend's heap now, or undefined where the active backend is not wasm. */
export function wasmHeapBytes(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  return (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.length;
}

/**
 * tfjs-backend-wasm aborts with a bare `RuntimeError: Aborted()` when an allocation would take its heap past
 * WebAssembly's 4 GiB, and is unusable after. Given such an error while the heap stands within 64 MiB of that
 * limit, returns a `BackendError` that says so (what a caller rethrows; `cause` the original); else undefined.
 * `heapBytes` defaults to the wasm backend's heap now.
 */
export function wasmHeapExhausted(error: unknown, heapBytes: number | undefined = wasmHeapBytes()): BackendError | undefined {
  const aborted = error instanceof Error && error.name === 'RuntimeError' && error.message.startsWith('Aborted(');
  if (!aborted || heapBytes === undefined || heapBytes < WASM_HEAP_LIMIT - 2 ** 26) return undefined;
  const mib = Math.round(heapBytes / 2 ** 20);
  return new BackendError(
    `wasm: expected the work to fit WebAssembly's 4 GiB heap, received an abort with the heap at ${mib} MiB; ` +
      'make it smaller or run it on webgpu (the wasm backend cannot be used again in this process)',
    { cause: error },
  );
}
