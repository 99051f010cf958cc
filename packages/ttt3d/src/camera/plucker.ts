import { checkOptions, describeValue, tf, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { Camera } from './camera.js';

/** Options of `pluckerRays`. */
export interface PluckerOptions {
  /** 6: (d, o × d), the Plücker coordinates; 9: (o, d, o × d), LaCT / tttLRM's ray channels. Default 6. */
  form?: 6 | 9;
}

/** The 3×3 map, row-major, from a pixel's homogeneous centre (u, v, 1) to its unnormalised world direction: Rᵀ K⁻¹. */
function pixelToDirection(camera: Camera): number[] {
  const { fx, fy, cx, cy } = camera;
  const r = camera.rotation();
  // K⁻¹ (u, v, 1) = ((u − cx)/fx, (v − cy)/fy, 1); Rᵀ of that, column by column
  const kInv = [1 / fx, 0, -cx / fx, 0, 1 / fy, -cy / fy, 0, 0, 1];
  const out = new Array<number>(9).fill(0);
  for (let a = 0; a < 3; a++)
    for (let b = 0; b < 3; b++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += (r[k * 3 + a] as number) * (kInv[k * 3 + b] as number);
      out[a * 3 + b] = sum;
    }
  return out;
}

function checkForm(options: PluckerOptions | undefined): 6 | 9 {
  const opts = checkOptions(options, ['form']);
  const form = opts.form ?? 6;
  if (form !== 6 && form !== 9) throw new ValueError(`form: expected 6 or 9, received ${describeValue(form)}`);
  return form;
}

/**
 * The rays of several cameras of one size, `[V, height, width, 6 | 9]` (as `pluckerRays`), computed on the device:
 * one matmul of the pixel centres (u + 0.5, v + 0.5, 1) by each camera's Rᵀ K⁻¹, a normalisation and one matmul by
 * each centre's cross-product matrix, in float32 (the reference implementations compute their rays in float32 too).
 * What crosses to the device is H·W pixel centres and 21 numbers a camera, not the rays.
 */
export function pluckerRaysBatch(cameras: readonly Camera[], options?: PluckerOptions): Tensor {
  if (!Array.isArray(cameras) || cameras.length === 0) {
    throw new ValueError(`cameras: expected a non-empty array of Camera, received ${describeValue(cameras)}`);
  }
  cameras.forEach((c, i) => {
    if (!(c instanceof Camera)) throw new ValueError(`cameras[${i}]: expected a Camera, received ${describeValue(c)}`);
  });
  const form = checkForm(options);
  const { width, height } = cameras[0] as Camera;
  cameras.forEach((c, i) => {
    if (c.width !== width || c.height !== height) {
      throw new ValueError(`cameras[${i}]: expected the size of cameras[0], ${width}×${height}, received ${c.width}×${c.height}`);
    }
  });
  const v = cameras.length;
  const maps = new Float32Array(v * 9);
  const skews = new Float32Array(v * 9);
  const centres = new Float32Array(v * 3);
  cameras.forEach((c, i) => {
    // rows of Mᵀ, so that (pixel row) · Mᵀ = (M pixel)ᵀ
    const m = pixelToDirection(c);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) maps[i * 9 + b * 3 + a] = m[a * 3 + b] as number;
    const [ox, oy, oz] = c.center();
    // o × d = [o]× d; stored transposed for d · [o]×ᵀ
    const skew = [0, -oz, oy, oz, 0, -ox, -oy, ox, 0];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) skews[i * 9 + b * 3 + a] = skew[a * 3 + b] as number;
    centres.set([ox, oy, oz], i * 3);
  });
  const pixels = new Float32Array(height * width * 3);
  for (let j = 0, p = 0; j < height; j++) {
    for (let i = 0; i < width; i++, p += 3) {
      pixels[p] = i + 0.5;
      pixels[p + 1] = j + 0.5;
      pixels[p + 2] = 1;
    }
  }
  return tf.tidy(() => {
    const n = height * width;
    // [n, 3] · [3, V·3] → [n, V, 3] → [V, n, 3]
    const stacked = tf.reshape(tf.transpose(tf.tensor3d(maps, [v, 3, 3]), [1, 0, 2]), [3, v * 3]);
    const raw = tf.transpose(tf.reshape(tf.matMul(tf.tensor2d(pixels, [n, 3]), stacked), [n, v, 3]), [1, 0, 2]);
    const d = tf.div(raw, tf.sqrt(tf.sum(tf.square(raw), -1, true)));
    const moment = tf.matMul(d, tf.tensor3d(skews, [v, 3, 3]));
    const parts = [d, moment];
    if (form === 9) parts.unshift(tf.tile(tf.reshape(tf.tensor2d(centres, [v, 3]), [v, 1, 3]), [1, n, 1]));
    return tf.reshape(tf.concat(parts, -1), [v, height, width, form]);
  });
}

/**
 * The ray through every pixel centre, `[height, width, 6]` = (d, o × d) or `[height, width, 9]` =
 * (o, d, o × d), float32 in world space: o is the camera centre, d the unit direction through pixel
 * (i, j)'s centre (i + 0.5, j + 0.5), i.e. d ∝ Rᵀ ((i + 0.5 − cx)/fx, (j + 0.5 − cy)/fy, 1). The moment
 * o × d is the same for every point o on the ray, so (d, o × d) identifies the line (Plücker 1865; as
 * used by LaCT, arXiv 2505.23884, and tttLRM, arXiv 2602.20160, §3 input tokens). Computed on the device
 * (`pluckerRaysBatch` of one camera).
 */
export function pluckerRays(camera: Camera, options?: PluckerOptions): Tensor {
  if (!(camera instanceof Camera)) throw new ValueError(`camera: expected a Camera, received ${describeValue(camera)}`);
  const form = checkForm(options);
  return tf.tidy(() => tf.squeeze(pluckerRaysBatch([camera], { form }), [0]));
}
