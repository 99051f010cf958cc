import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';

/** What the patched kernel touches of tfjs-backend-webgpu 4.22's backend. */
interface UploadingBackend {
  uploadToGPU(dataId: object): void;
}

let installed = false;

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * tfjs' WebGPU `Tile` runs on the CPU when its input is small and still host-resident (fewer than
 * `WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD` elements, not yet uploaded): the whole tiled output is then built element by
 * element in JavaScript and uploaded when next used. For a tile that expands, such as a camera centre per pixel or a
 * unit quaternion per Gaussian, that loop took 2.1 s of a 3.0 s tttLRM forward at 64 views of 256² on the H100 (a
 * CPU profile: 67% in `tileImpl`), against 0.46 s of GPU programs. The replacement uploads such an input first
 * when the output would reach the threshold, so the GPU program tiles it; small outputs keep tfjs' CPU path.
 * `tf.broadcastTo` runs this kernel too. Called once the WebGPU backend module has registered its kernels.
 */
export function installDeviceTile(): void {
  if (installed) return;
  const config = tf.getKernel('Tile', 'webgpu') as KernelConfig | undefined;
  if (config === undefined) return;
  const tile = config.kernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const reps = args.attrs?.reps as number[] | undefined;
    const out = sizeOf(x.shape) * sizeOf(reps ?? []);
    if (x.dtype !== 'string' && out >= tf.env().getNumber('WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD')) {
      (args.backend as unknown as UploadingBackend).uploadToGPU(x.dataId);
    }
    return tile(args);
  };
  tf.unregisterKernel('Tile', 'webgpu');
  tf.registerKernel({ ...config, kernelFunc });
  installed = true;
}
