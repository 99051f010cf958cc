import type { Camera } from '../camera/index.js';

/**
 * The scene extent 3DGS scales positions by (`getNerfppNorm` in scene/dataset_readers.py): 1.1 × the
 * largest distance of a camera centre from the cameras' mean centre. One camera (distance 0) gives 1,
 * as there is then no scale to read off the rig.
 */
export function cameraExtent(cameras: readonly Camera[]): number {
  const centres = cameras.map((c) => c.center());
  const mean = [0, 1, 2].map((a) => centres.reduce((s, c) => s + c[a]!, 0) / centres.length);
  const radius = Math.max(...centres.map((c) => Math.hypot(c[0] - mean[0]!, c[1] - mean[1]!, c[2] - mean[2]!)));
  return radius > 0 ? 1.1 * radius : 1;
}
