import { type Tensor, tf } from '@tessera/tensor-core';
import { Gaussians } from '../gaussians/index.js';
import { patchify } from './tokens.js';

/** tttLRM's activations (model/model.py): log-scale offset (the default of `scaleOffset`), log-scale ceiling, opacity-logit offset. */
export const SCALE_OFFSET = 2.3;
export const MAX_LOG_SCALE = -1.2;
export const OPACITY_OFFSET = 2;

/**
 * Decoder output → Gaussians, one per pixel of each virtual view, ordered (view, patch row, patch column, pixel row,
 * pixel column) as the authors' `"b (v h w ph pw) c"`. `raw: [V, T, p²·C]` with C = 3 + 3(d+1)² + 3 + 4 + 1 in the
 * order position, SH, scale, rotation, opacity; `rays: [V, H, W, 9]` the virtual views' (o, d, o × d).
 *
 * - position: the three position channels averaged, depth = sigmoid(mean)·farBound, μ = o + depth·d (the pixel's
 *   ray; `xyz.mean(dim=2).sigmoid() * max_dist`);
 * - SH: coefficient-major `[(d+1)², 3]`, as the authors' `features` and our `Gaussians.sh`;
 * - log-scale: min(raw − scaleOffset, −1.2) (`(scaling - 2.3).clamp(max=-1.2)`, exp in the renderer), so σ ≤ e^−1.2;
 * - rotation: raw / ‖raw‖, (w, x, y, z) (the authors normalise in the renderer; gsplat's order is also wxyz);
 * - opacity logit: raw − 2 (opacity σ(raw − 2)).
 */
export function decodeGaussians(
  raw: Tensor,
  rays: Tensor,
  p: number,
  shDegree: number,
  farBound: number,
  scaleOffset = SCALE_OFFSET,
): Gaussians {
  const fields = tf.tidy(() => {
    const k = (shDegree + 1) ** 2;
    const channels = 3 + 3 * k + 3 + 4 + 1;
    const flat = tf.reshape(raw, [-1, channels]);
    const [pos, sh, scale, rot, opacity] = tf.split(flat, [3, 3 * k, 3, 4, 1], 1) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const ray = tf.reshape(patchify(rays, p), [-1, 9]);
    const origin = tf.slice(ray, [0, 0], [-1, 3]);
    const direction = tf.slice(ray, [0, 3], [-1, 3]);
    const depth = tf.mul(tf.sigmoid(tf.mean(pos, 1, true)), farBound);
    const norm = tf.add(tf.norm(rot, 'euclidean', 1, true), 1e-12);
    return {
      means: tf.add(origin, tf.mul(depth, direction)),
      logScales: tf.minimum(tf.sub(scale, scaleOffset), MAX_LOG_SCALE),
      quaternions: tf.div(rot, norm),
      opacityLogits: tf.reshape(tf.sub(opacity, OPACITY_OFFSET), [-1]),
      sh: tf.reshape(sh, [-1, k, 3]),
    };
  });
  return new Gaussians(fields);
}
