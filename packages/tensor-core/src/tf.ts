/**
 * The one tfjs instance every Tessera package uses. `@tensorflow/tfjs` (not the bare core) because its
 * Node entry registers all gradients and chained ops on the shared `@tensorflow/tfjs-core` engine; the
 * core's own Node entry registers neither, so `tf.grad` would fail there.
 */
import * as tf from '@tensorflow/tfjs';
import { installCpuKernels } from './backend/cpu-kernels.js';

silenceCpuBanner();
installCpuKernels(tf);

/**
 * tfjs' cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js…" (advice to install
 * tfjs-node, which Tessera deliberately does not use: its backends are WebGPU, WASM and this one) on its
 * first tensor in Node. Marking that first use done on every cpu backend instance silences only this
 * notice, where the `PROD` flag would also silence every other tfjs warning of the user's program.
 * The engine makes its instances through the registered factory (again, if no backend was set before
 * the first tensor), so the factory is wrapped; `firstUse` is a private field of tfjs-backend-cpu 4.22's
 * `MathBackendCPU` (pinned by package.json) that only this notice reads.
 */
function silenceCpuBanner(): void {
  type Quiet = { firstUse?: boolean };
  const engine = tf.engine() as unknown as {
    registry: Record<string, Quiet | undefined>;
    registryFactory: Record<string, { factory: () => unknown } | undefined>;
  };
  const quiet = (backend: unknown): void => {
    if (backend !== null && typeof backend === 'object' && 'firstUse' in backend) (backend as Quiet).firstUse = false;
  };
  quiet(engine.registry.cpu);
  const entry = engine.registryFactory.cpu;
  if (!entry) return;
  const factory = entry.factory;
  entry.factory = () => {
    const backend = factory();
    quiet(backend);
    return backend;
  };
}

export { tf };
export type { DataType, NamedAttrMap, Rank, Tensor, TensorContainer, TensorInfo, TypedArray, Variable } from '@tensorflow/tfjs';
