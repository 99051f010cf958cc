/**
 * Where a tttLRM forward's wall time goes on the GPU machine (issue 12: 64 views at 256² took 2.6 s on the H100
 * while its programs summed to ~0.45 s): per call, the host time to encode the forward (until it returns), the wall
 * time until the GPU is done, tf.time's summed kernel time, and what tfjs' buffer pool allocated during the call.
 *   node .gpu/entry.mjs reconstruct-probe [--views 64] [--size 256] [--calls 4]
 * Run under `node --cpu-prof` for the host side.
 */
import { initBackend, philoxUniform, tf } from '@tessera/tensor-core';
import { sync } from '@tessera/tensor-core/bench';
import { orbitCameras } from '../src/camera/index.js';
import { TTTLRM } from '../src/tttlrm/index.js';

interface PoolBackend {
  bufferManager?: { numBytesAllocated: number; numUsedBuffers: number; numFreeBuffers: number };
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

await initBackend('webgpu');
const views = flag('views', 64);
const size = flag('size', 256);
const calls = flag('calls', 4);
const model = new TTTLRM({ imageSize: size });
const cameras = orbitCameras(views, { radius: 2.2, elevation: 0.3, fov: 0.8, size });
const images = philoxUniform([views, size, size, 3], { seed: views, low: 0, high: 1 });
const pool = (): string => {
  const m = (tf.backend() as unknown as PoolBackend).bufferManager;
  return m ? `pool ${(m.numBytesAllocated / 2 ** 20).toFixed(0)} MiB, ${m.numUsedBuffers} used / ${m.numFreeBuffers} free` : 'pool ?';
};
const forward = (): tf.Tensor[] => {
  const g = model.forward(images, cameras);
  return [g.means, g.logScales, g.quaternions, g.opacityLogits, g.sh];
};
for (let c = 0; c < calls; c++) {
  const before = pool();
  const t0 = performance.now();
  const out = forward();
  const encoded = performance.now() - t0;
  await sync(out);
  const wall = performance.now() - t0;
  tf.dispose(out);
  console.log(`call ${c}: host encode ${encoded.toFixed(1)} ms, wall ${wall.toFixed(1)} ms; ${before} → ${pool()}`);
}
const timed = await tf.time(() => {
  tf.dispose(forward());
});
const t = timed as tf.TimingInfo & { kernelMs: number | { error: string } };
console.log(
  `tf.time: wall ${t.wallMs.toFixed(1)} ms, kernels ${typeof t.kernelMs === 'number' ? t.kernelMs.toFixed(1) : JSON.stringify(t.kernelMs)} ms`,
);
images.dispose();
model.dispose();
