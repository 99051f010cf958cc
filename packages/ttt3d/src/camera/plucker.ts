import { checkOptions, describeValue, tf, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { Camera } from './camera.js';
import { cross, normalize } from './vec3.js';

/** Options of `pluckerRays`. */
export interface PluckerOptions {
  /** 6: (d, o × d), the Plücker coordinates; 9: (o, d, o × d), LaCT / tttLRM's ray channels. Default 6. */
  form?: 6 | 9;
}

/**
 * The ray through every pixel centre, `[height, width, 6]` = (d, o × d) or `[height, width, 9]` =
 * (o, d, o × d), float32 in world space: o is the camera centre, d the unit direction through pixel
 * (i, j)'s centre (i + 0.5, j + 0.5), i.e. d ∝ Rᵀ ((i + 0.5 − cx)/fx, (j + 0.5 − cy)/fy, 1). The moment
 * o × d is the same for every point o on the ray, so (d, o × d) identifies the line (Plücker 1865; as
 * used by LaCT, arXiv 2505.23884, and tttLRM, arXiv 2602.20160, §3 input tokens). Computed in float64 on
 * the host, then uploaded.
 */
export function pluckerRays(camera: Camera, options?: PluckerOptions): Tensor {
  if (!(camera instanceof Camera)) throw new ValueError(`camera: expected a Camera, received ${describeValue(camera)}`);
  const opts = checkOptions(options, ['form']);
  const form = opts.form ?? 6;
  if (form !== 6 && form !== 9) throw new ValueError(`form: expected 6 or 9, received ${describeValue(form)}`);
  const { width, height, fx, fy, cx, cy } = camera;
  const o = camera.center();
  const r = camera.rotation();
  const out = new Float32Array(height * width * form);
  let p = 0;
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      // Rᵀ (x, y, 1): the camera-space direction through the pixel centre, in world space
      const x = (i + 0.5 - cx) / fx;
      const y = (j + 0.5 - cy) / fy;
      const d = normalize([r[0]! * x + r[3]! * y + r[6]!, r[1]! * x + r[4]! * y + r[7]!, r[2]! * x + r[5]! * y + r[8]!]);
      const m = cross(o, d);
      if (form === 9) {
        out.set(o, p);
        p += 3;
      }
      out.set(d, p);
      out.set(m, p + 3);
      p += 6;
    }
  }
  return tf.tensor3d(out, [height, width, form], 'float32');
}
