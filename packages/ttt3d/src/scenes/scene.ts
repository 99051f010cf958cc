import { tf } from '@tessera/tensor-core';
import type { Vec3 } from '../camera/vec3.js';
import { Gaussians } from '../gaussians/gaussians.js';
import { rgbToDc } from '../gaussians/sh.js';

/** A procedural scene: its Gaussians (owned by the caller), an axis-aligned box around them, and a name. */
export interface Scene {
  gaussians: Gaussians;
  /** Every mean ± 3 × its largest standard deviation lies inside [min, max]. */
  bounds: { min: Vec3; max: Vec3 };
  name: string;
}

/** Host arrays of N Gaussians in natural units (scales, not logs; opacities, not logits; RGB colours). */
export interface SceneArrays {
  means: Float32Array;
  scales: Float32Array;
  /** (w, x, y, z) per Gaussian. */
  quaternions: Float32Array;
  opacities: Float32Array;
  /** RGB in [0, 1], stored as the DC coefficient (degree-0 SH). */
  colors: Float32Array;
}

/** Builds a `Scene` (SH degree 0) from host arrays, with bounds at 3σ of the largest axis. */
export function sceneFromArrays(name: string, a: SceneArrays): Scene {
  const n = a.opacities.length;
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const reach = 3 * Math.max(a.scales[3 * i]!, a.scales[3 * i + 1]!, a.scales[3 * i + 2]!);
    for (let k = 0; k < 3; k++) {
      min[k] = Math.min(min[k]!, a.means[3 * i + k]! - reach);
      max[k] = Math.max(max[k]!, a.means[3 * i + k]! + reach);
    }
  }
  const gaussians = new Gaussians({
    means: tf.tensor2d(a.means, [n, 3], 'float32'),
    logScales: tf.tensor2d(a.scales.map(Math.log), [n, 3], 'float32'),
    quaternions: tf.tensor2d(a.quaternions, [n, 4], 'float32'),
    opacityLogits: tf.tensor1d(
      a.opacities.map((o) => Math.log(o / (1 - o))),
      'float32',
    ),
    sh: tf.tensor3d(a.colors.map(rgbToDc), [n, 1, 3], 'float32'),
  });
  return { gaussians, bounds: { min, max }, name };
}
