import { deviceZeros, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { Camera } from '../camera/index.js';

/**
 * Norm of each Gaussian's view-space positional gradient `[N]`, in normalised device units as 3DGS and
 * gsplat measure it (‖∂L/∂μ₂D‖ with μ₂D in pixels, scaled by (W/2, H/2)), from the world-space mean
 * gradient `[N, 3]`. The rasteriser exposes no 2D means, so it is recovered from the camera-space
 * gradient: with u = fx·x/z + cx, ∂L/∂u = (z/fx)·∂L/∂x_c and ∂L/∂v = (z/fy)·∂L/∂y_c, exact when the loss
 * depends on the mean through its projection only (the part flowing through the projected covariance's
 * Jacobian is attributed to u, v as well; it is small for Gaussians much smaller than their depth).
 */
export function viewspaceGradientNorm(meanGrad: Tensor, means: Tensor, camera: Camera): Tensor {
  return tf.tidy(() => {
    const r = tf.tensor2d(camera.rotation(), [3, 3]);
    const gc = tf.matMul(meanGrad, r, false, true);
    const tz = camera.translation()[2];
    const z = tf.add(tf.matMul(means, tf.slice(r, [2, 0], [1, 3]), false, true), tz);
    const [gx, gy] = tf.split(tf.slice(gc, [0, 0], [-1, 2]), 2, 1) as [Tensor, Tensor];
    const gu = tf.mul(tf.mul(gx!, z), camera.width / 2 / camera.fx);
    const gv = tf.mul(tf.mul(gy!, z), camera.height / 2 / camera.fy);
    return tf.reshape(tf.sqrt(tf.add(tf.square(gu), tf.square(gv))), [-1]);
  });
}

/**
 * 3DGS' densification statistics (`add_densification_stats`): per Gaussian, the summed view-space
 * gradient norm and the number of steps it was visible in. A Gaussian counts as visible when its mean
 * received a non-zero gradient (the rasteriser dropped it otherwise, like gsplat's radii > 0 filter).
 */
export class GradientStats {
  #sum: Tensor;
  #count: Tensor;

  constructor(n: number) {
    this.#sum = deviceZeros([n]);
    this.#count = deviceZeros([n]);
  }

  /** Adds one step's view-space gradient norms `[N]`. */
  add(norm: Tensor): void {
    const [sum, count] = tf.tidy(() => [tf.add(this.#sum, norm), tf.add(this.#count, tf.cast(tf.greater(norm, 0), 'float32'))]);
    tf.dispose([this.#sum, this.#count]);
    this.#sum = sum!;
    this.#count = count!;
  }

  /** The mean norm over the steps each Gaussian was visible in (0 if never), `[N]`, read to the host. */
  async average(): Promise<Float32Array> {
    const mean = tf.tidy(() => tf.divNoNan(this.#sum, this.#count));
    const values = (await mean.data()) as Float32Array;
    mean.dispose();
    return values;
  }

  /** Starts over for `n` Gaussians (after densification changed the rows). */
  reset(n: number): void {
    this.dispose();
    this.#sum = deviceZeros([n]);
    this.#count = deviceZeros([n]);
  }

  dispose(): void {
    tf.dispose([this.#sum, this.#count]);
  }
}
