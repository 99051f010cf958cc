import { describe, expect, it } from 'vitest';
import { BackendError, WASM_HEAP_LIMIT, initBackend, tf, wasmHeapBytes, wasmHeapExhausted } from '../src/index.js';

describe('wasmHeapExhausted', () => {
  const abort = (): Error => new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');

  it("turns tfjs-backend-wasm's bare abort at the 4 GiB heap into a BackendError naming the heap", () => {
    const original = abort();
    const err = wasmHeapExhausted(original, WASM_HEAP_LIMIT - 2 ** 16);
    expect(err).toBeInstanceOf(BackendError);
    expect(err?.message).toBe(
      "wasm: expected the work to fit WebAssembly's 4 GiB heap, received an abort with the heap at 4096 MiB; " +
        'make it smaller or run it on webgpu (the wasm backend cannot be used again in this process)',
    );
    expect(err?.cause).toBe(original);
  });

  it('leaves other errors, and aborts with room left in the heap, alone', () => {
    expect(wasmHeapExhausted(abort(), 2 ** 30)).toBeUndefined();
    expect(wasmHeapExhausted(abort(), undefined)).toBeUndefined();
    expect(wasmHeapExhausted(new Error('Aborted()'), WASM_HEAP_LIMIT)).toBeUndefined();
    expect(wasmHeapExhausted(new WebAssembly.RuntimeError('unreachable'), WASM_HEAP_LIMIT)).toBeUndefined();
    expect(wasmHeapExhausted('Aborted()', WASM_HEAP_LIMIT)).toBeUndefined();
  });

  it("reads the wasm backend's heap, and nothing on other backends", async () => {
    await initBackend('cpu');
    expect(wasmHeapBytes()).toBeUndefined();
    await initBackend('wasm');
    const bytes = wasmHeapBytes();
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(WASM_HEAP_LIMIT);
    // an abort with this much room is not the heap's
    expect(wasmHeapExhausted(abort())).toBeUndefined();
    expect(tf.getBackend()).toBe('wasm');
  });
});
