import { philoxUniform, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { Gaussians } from '../gaussians/index.js';

/** Options of `randomGaussians`. */
export interface RandomSceneOptions {
  count: number;
  /** SH degree 0–3. */
  shDegree: number;
  seed: number;
  /** Means are uniform in [−extent, extent]³ around `center`. */
  extent: number;
  center?: readonly [number, number, number];
  /** Log-scales are uniform in [logScaleMin, logScaleMax]. */
  logScaleMin: number;
  logScaleMax: number;
}

/**
 * A seeded random scene for the tests and the benchmark: Philox draws, so every backend builds the same
 * Gaussians. Opacity logits in [−2, 3], SH DC in [−1.5, 1.5], higher bands in [−0.4, 0.4], quaternions
 * unnormalised in [−1, 1]⁴.
 */
export function randomGaussians(opts: RandomSceneOptions): Gaussians {
  const { count: n, seed, extent } = opts;
  const k = (opts.shDegree + 1) * (opts.shDegree + 1);
  const fields = tf.tidy(() => {
    let offset = 0;
    const draw = (shape: number[], lo: number, hi: number): Tensor => {
      const u = philoxUniform(shape, { seed, offset });
      offset += shape.reduce((a, b) => a * b, 1);
      return tf.add(tf.mul(u, hi - lo), lo);
    };
    const center = opts.center ?? [0, 0, 0];
    const means = tf.add(draw([n, 3], -extent, extent), tf.tensor1d([...center]));
    const logScales = draw([n, 3], opts.logScaleMin, opts.logScaleMax);
    const quaternions = draw([n, 4], -1, 1);
    const opacityLogits = draw([n], -2, 3);
    const dc = draw([n, 1, 3], -1.5, 1.5);
    const sh = k === 1 ? dc : tf.concat([dc, draw([n, k - 1, 3], -0.4, 0.4)], 1);
    return { means, logScales, quaternions, opacityLogits, sh };
  });
  return new Gaussians(fields);
}
