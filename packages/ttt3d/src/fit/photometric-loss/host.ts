import type { HostTensor } from '@tessera/tensor-core';
import type { LossGradInput, LossInput, LossWeights } from './attrs.js';
import { ssimTerms } from './ssim-terms.js';
import { RADIUS, window1d } from './window.js';

const G = window1d();

/**
 * Separable zero-padded blur of `planes` planes of `[h, w, 3]` images stored one after the other in `src`
 * (vertical pass, then horizontal), into a new array: what the composite's two 'same' conv2d compute. Each
 * tap is one streaming pass over a row (the row above or below, or the row shifted by a pixel), the form
 * V8 runs fastest.
 */
function blur(src: Float64Array, planes: number, h: number, w: number): Float64Array {
  const n = h * w * 3;
  const row = w * 3;
  const vertical = new Float64Array(planes * n);
  const out = new Float64Array(planes * n);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < h; i++) {
      const start = p * n + i * row;
      for (let d = Math.max(-RADIUS, -i); d <= Math.min(RADIUS, h - 1 - i); d++) {
        const g = G[d + RADIUS]!;
        const from = start + d * row;
        for (let e = 0; e < row; e++) vertical[start + e] = vertical[start + e]! + g * src[from + e]!;
      }
      for (let d = -RADIUS; d <= RADIUS; d++) {
        const g = G[d + RADIUS]!;
        const shift = 3 * d;
        const last = Math.min(row, row - shift);
        for (let e = Math.max(0, -shift); e < last; e++) out[start + e] = out[start + e]! + g * vertical[start + e + shift]!;
      }
    }
  }
  return out;
}

/** The five windowed statistics μx, μy, E[x²], E[y²], E[xy] of every pixel and channel, as 5 planes. */
function windowedStats(x: Float32Array, y: Float32Array, h: number, w: number): Float64Array {
  const n = x.length;
  const stats = new Float64Array(5 * n);
  for (let e = 0; e < n; e++) {
    const [p, q] = [x[e]!, y[e]!];
    stats[e] = p;
    stats[n + e] = q;
    stats[2 * n + e] = p * p;
    stats[3 * n + e] = q * q;
    stats[4 * n + e] = p * q;
  }
  return blur(stats, 5, h, w);
}

/** The typed-array photometric loss (reference.ts' value), accumulated in float64. */
export function photometricLossHost({ render, target }: Record<LossInput, HostTensor>, weights: LossWeights): HostTensor {
  const [h, w] = render.shape as [number, number, number];
  const x = render.values as Float32Array;
  const y = target.values as Float32Array;
  const n = x.length;
  let loss = 0;
  if (weights.l1 > 0) {
    let sum = 0;
    for (let e = 0; e < n; e++) sum += Math.abs(x[e]! - y[e]!);
    loss += weights.l1 * (sum / n);
  }
  if (weights.dssim > 0) {
    const stats = windowedStats(x, y, h, w);
    let sum = 0;
    for (let e = 0; e < n; e++) sum += ssimTerms(stats[e]!, stats[n + e]!, stats[2 * n + e]!, stats[3 * n + e]!, stats[4 * n + e]!).s;
    loss += weights.dssim * (1 - sum / n);
  }
  return { shape: [], dtype: 'float32', values: Float32Array.of(loss) };
}

/**
 * The typed-array gradient of the loss w.r.t. `render`, times the scalar cotangent `dy`: l1/M · sign(x − y)
 * (tfjs' |·|′ is −1 at 0) − dssim/M · (G∗a + 2x·G∗b + y·G∗c) with a, b, c from `ssimTerms`.
 */
export function photometricLossGradHost({ render, target, dy }: Record<LossGradInput, HostTensor>, weights: LossWeights): HostTensor {
  const [h, w] = render.shape as [number, number, number];
  const x = render.values as Float32Array;
  const y = target.values as Float32Array;
  const n = x.length;
  const scale = dy.values[0] as number;
  const grad = new Float32Array(n);
  const l1 = weights.l1 > 0 ? weights.l1 / n : 0;
  let maps: Float64Array | undefined;
  if (weights.dssim > 0) {
    const stats = windowedStats(x, y, h, w);
    const abc = new Float64Array(3 * n);
    for (let e = 0; e < n; e++) {
      const t = ssimTerms(stats[e]!, stats[n + e]!, stats[2 * n + e]!, stats[3 * n + e]!, stats[4 * n + e]!);
      abc[e] = t.a;
      abc[n + e] = t.b;
      abc[2 * n + e] = t.c;
    }
    maps = blur(abc, 3, h, w);
  }
  const dssim = weights.dssim / n;
  for (let e = 0; e < n; e++) {
    let g = l1 > 0 ? l1 * (x[e]! - y[e]! > 0 ? 1 : -1) : 0;
    if (maps) g -= dssim * (maps[e]! + 2 * x[e]! * maps[n + e]! + y[e]! * maps[2 * n + e]!);
    grad[e] = scale * g;
  }
  return { shape: render.shape, dtype: 'float32', values: grad };
}
