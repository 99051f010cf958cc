import type { TensorContainer } from '@tensorflow/tfjs-core';
import { describeValue, ValueError } from '../errors.js';
import { tf } from '../tf.js';

interface ParallelCompileBackend {
  checkCompileCompletionAsync(): Promise<void>;
}

/**
 * Compiles the WebGPU pipelines that `fn` would run without blocking the event loop, so that calling `fn`
 * afterwards finds them ready. tfjs compiles a WGSL program synchronously on its first run; a large
 * kernel takes milliseconds on a GPU driver but tens of seconds on a software one (Mesa's lavapipe
 * spends ~30 s in LLVM on the delta rule's prepare pass), which freezes a page or starves a test runner's
 * RPC. Here `fn` runs once with tfjs' WEBGPU_ENGINE_COMPILE_ONLY flag — programs are compiled with
 * `createComputePipelineAsync` on Dawn's threads and nothing is dispatched — then this awaits every
 * pending pipeline. `fn` must be synchronous and must not read values back (what it computes in this pass
 * is never written); the tensors it creates are disposed. A no-op on other backends.
 */
export async function warmUpWebGPU(fn: () => TensorContainer | undefined): Promise<void> {
  if (typeof fn !== 'function') throw new ValueError(`fn: expected a function, received ${describeValue(fn)}`);
  if (tf.getBackend() !== 'webgpu') return;
  const flags = tf.env();
  const before = flags.getBool('WEBGPU_ENGINE_COMPILE_ONLY');
  flags.set('WEBGPU_ENGINE_COMPILE_ONLY', true);
  try {
    tf.tidy(() => {
      const out = fn();
      if (out instanceof Promise) throw new ValueError('fn: expected a synchronous function, received one that returned a Promise');
      return undefined;
    });
  } finally {
    flags.set('WEBGPU_ENGINE_COMPILE_ONLY', before);
  }
  await (tf.backend() as unknown as ParallelCompileBackend).checkCompileCompletionAsync();
}
