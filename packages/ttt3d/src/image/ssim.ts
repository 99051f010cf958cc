import type { Tensor } from '@tessera/tensor-core';
import { checkPair } from './check-image.js';

/** Window: 11 taps = 2·⌊3.5σ + 0.5⌋ + 1 (skimage truncate 3.5), σ = 1.5. */
const RADIUS = 5;
const SIGMA = 1.5;
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

function gaussianTaps(): Float64Array {
  const g = new Float64Array(2 * RADIUS + 1);
  let sum = 0;
  for (let i = -RADIUS; i <= RADIUS; i++) {
    g[i + RADIUS] = Math.exp(-(i * i) / (2 * SIGMA * SIGMA));
    sum += g[i + RADIUS] as number;
  }
  return g.map((v) => v / sum);
}

/** 'valid' separable Gaussian filter of an h×w plane: output (h − 10)×(w − 10). */
function blurValid(plane: Float64Array, h: number, w: number, taps: Float64Array): Float64Array {
  const ow = w - 2 * RADIUS;
  const oh = h - 2 * RADIUS;
  const rows = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < taps.length; t++) s += (taps[t] as number) * (plane[y * w + x + t] as number);
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < taps.length; t++) s += (taps[t] as number) * (rows[(y + t) * ow + x] as number);
      out[y * ow + x] = s;
    }
  }
  return out;
}

/**
 * Mean structural similarity of two images `[h, w, c]` (h, w ≥ 11) with data range 1 (Wang et al. 2004,
 * Eq. 13): local means, variances and covariance under an 11×11 Gaussian window (σ = 1.5), population
 * (not sample) covariances, K1 = 0.01, K2 = 0.03; the SSIM map is averaged over the positions where the
 * window fits entirely inside the image ('valid'), per channel, then over channels. This is skimage's
 * `structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=1)`; 3DGS' training `ssim()` zero-pads instead ('same') and so
 * differs near the border. Accumulated in float64 on the host.
 */
export async function ssim(a: Tensor, b: Tensor): Promise<number> {
  checkPair(a, b, 2 * RADIUS + 1);
  const [h, w, c] = a.shape as [number, number, number];
  const [x, y] = await Promise.all([a.data(), b.data()]);
  const taps = gaussianTaps();
  const n = h * w;
  let total = 0;
  for (let ch = 0; ch < c; ch++) {
    const px = new Float64Array(n);
    const py = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      px[i] = x[i * c + ch] as number;
      py[i] = y[i * c + ch] as number;
    }
    const product = (p: Float64Array, q: Float64Array): Float64Array => p.map((v, i) => v * (q[i] as number));
    const mx = blurValid(px, h, w, taps);
    const my = blurValid(py, h, w, taps);
    const mxx = blurValid(product(px, px), h, w, taps);
    const myy = blurValid(product(py, py), h, w, taps);
    const mxy = blurValid(product(px, py), h, w, taps);
    let sum = 0;
    for (let i = 0; i < mx.length; i++) {
      const ux = mx[i] as number;
      const uy = my[i] as number;
      const vx = (mxx[i] as number) - ux * ux;
      const vy = (myy[i] as number) - uy * uy;
      const vxy = (mxy[i] as number) - ux * uy;
      sum += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
    }
    total += sum / mx.length;
  }
  return total / c;
}
