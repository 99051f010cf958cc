import { type Tensor, tf } from '@tessera/tensor-core';
import { type Camera, pluckerRaysBatch } from '../camera/index.js';

/** Channels per pixel of a token: Plücker rays (o, d, o × d) then RGB·2 − 1 (the authors' `posed_input`). */
export const TOKEN_CHANNELS = 12;

/**
 * `[V, H, W, C] → [V, (H/p)·(W/p), p·p·C]`: the authors' tokenizer layout
 * `"b v c (hh ph) (ww pw) -> (b v) (hh ww) (ph pw c)"` with channels last.
 */
export function patchify(x: Tensor, p: number): Tensor {
  return tf.tidy(() => {
    const [v, h, w, c] = x.shape as [number, number, number, number];
    const blocks = tf.reshape(x, [v, h / p, p, w / p, p, c]);
    return tf.reshape(tf.transpose(blocks, [0, 1, 3, 2, 4, 5]), [v, (h / p) * (w / p), p * p * c]);
  });
}

/** The ray channels of each camera, `[V, H, W, 9]`, world space (o, d, o × d). */
export function cameraRays(cameras: readonly Camera[]): Tensor {
  return pluckerRaysBatch(cameras, { form: 9 });
}

/**
 * Input-view pixels: rays ⊕ (RGB·2 − 1) → `[V, T, p²·12]`. Query-only (virtual) views pass `views` undefined: their
 * colour channels are 0, as LaCT NVS' pose-only target tokens (the issue asks for ray channels only, which also lets
 * virtual views be any camera); a `virtualColour` model passes the input images for virtual views that are the input
 * cameras, as tttLRM copies them.
 */
export function viewTokens(cameras: readonly Camera[], views: Tensor | undefined, p: number): Tensor {
  return tf.tidy(() => {
    const rays = cameraRays(cameras);
    const [v, h, w] = rays.shape as [number, number, number, number];
    const colour = views === undefined ? tf.zeros([v, h, w, 3]) : tf.sub(tf.mul(views, 2), 1);
    return patchify(tf.concat([rays, colour], -1), p);
  });
}
