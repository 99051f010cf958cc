import { checkOptions, checkRange } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { checkPair } from './check-image.js';

/** Options of `psnr`. */
export interface PsnrOptions {
  /** The largest possible value (1 for images in [0, 1], 255 for bytes); default 1. */
  maxValue?: number;
}

/**
 * Peak signal-to-noise ratio of two images `[h, w, c]` of one shape, in dB: 10·log10(maxValue² / MSE)
 * over every element, accumulated in float64; +∞ for identical images. No clamping is applied.
 */
export async function psnr(a: Tensor, b: Tensor, options?: PsnrOptions): Promise<number> {
  checkPair(a, b);
  const opts = checkOptions(options, ['maxValue']);
  const maxValue = checkRange(opts.maxValue ?? 1, { min: 0, minExclusive: true }, 'maxValue');
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] as number) - (y[i] as number);
    sum += d * d;
  }
  const mse = sum / x.length;
  return 10 * Math.log10((maxValue * maxValue) / mse);
}
