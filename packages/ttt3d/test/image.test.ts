import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Tensor, tf } from '@tessera/tensor-core';
import { expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodePng, encodePng, loadPng, psnr, savePng, ssim } from '../src/image/index.js';
import { adam7Scanlines, pngBytes } from './cases.js';

/** image[y, x, c] = f(x, y, c), float32. */
function pattern(h: number, w: number, c: number, f: (x: number, y: number, c: number) => number): Tensor {
  const out = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = f(x, y, k);
  return tf.tensor3d(out, [h, w, c]);
}

const A = (x: number, y: number, c: number): number => 0.5 + 0.4 * Math.sin(0.7 * x + 1.3 * y + c);
const B = (x: number, y: number, c: number): number => 0.45 + 0.3 * Math.cos(0.5 * x - 0.8 * y + c);

/**
 * Brute-force SSIM: for every position where the 11×11 window fits, weighted sums over the full 2D
 * window (weights exp(−r²/2σ²) normalised over the window), no separable filtering.
 */
async function bruteSsim(a: Tensor, b: Tensor): Promise<number> {
  const [h, w, c] = a.shape as [number, number, number];
  const x = await a.data();
  const y = await b.data();
  const weights: number[] = [];
  for (let dy = -5; dy <= 5; dy++) for (let dx = -5; dx <= 5; dx++) weights.push(Math.exp(-(dx * dx + dy * dy) / 4.5));
  const total = weights.reduce((s, v) => s + v, 0);
  let sum = 0;
  let count = 0;
  for (let k = 0; k < c; k++) {
    for (let py = 5; py < h - 5; py++) {
      for (let px = 5; px < w - 5; px++) {
        let mx = 0;
        let my = 0;
        let mxx = 0;
        let myy = 0;
        let mxy = 0;
        let i = 0;
        for (let dy = -5; dy <= 5; dy++) {
          for (let dx = -5; dx <= 5; dx++) {
            const wt = weights[i++]! / total;
            const u = x[((py + dy) * w + px + dx) * c + k]!;
            const v = y[((py + dy) * w + px + dx) * c + k]!;
            mx += wt * u;
            my += wt * v;
            mxx += wt * u * u;
            myy += wt * v * v;
            mxy += wt * u * v;
          }
        }
        const c1 = 1e-4;
        const c2 = 9e-4;
        sum += ((2 * mx * my + c1) * (2 * (mxy - mx * my) + c2)) / ((mx * mx + my * my + c1) * (mxx - mx * mx + myy - my * my + c2));
        count++;
      }
    }
  }
  return sum / count;
}

describe('ssim', () => {
  it('is 1 for identical images', async () => {
    const a = pattern(16, 20, 3, A);
    expect(await ssim(a, a)).toBeCloseTo(1, 12);
    a.dispose();
  });

  it('matches skimage structural_similarity (gaussian_weights, σ 1.5, population covariance, data range 1)', async () => {
    // reference values: skimage's algorithm re-stated with scipy.ndimage.gaussian_filter(σ=1.5, truncate=3.5)
    // on the same float32 images (see the package README, "Metrics")
    const a = pattern(16, 20, 3, A);
    const b = pattern(16, 20, 3, B);
    const shifted = tf.add(a, 0.05);
    expect(Math.abs((await ssim(a, b)) - 0.008071507451426306)).toBeLessThan(1e-6);
    expect(Math.abs((await ssim(a, shifted)) - 0.9954387480177859)).toBeLessThan(1e-6);
    tf.dispose([a, b, shifted]);
  });

  it('equals the hand-computed (2μaμb + C1)/(μa² + μb² + C1) for two constant images', async () => {
    const a = tf.fill([12, 13, 1], 0.2);
    const b = tf.fill([12, 13, 1], 0.7);
    const fa = Math.fround(0.2);
    const fb = Math.fround(0.7);
    const expected = (2 * fa * fb + 1e-4) / (fa * fa + fb * fb + 1e-4);
    expect(await ssim(a, b)).toBeCloseTo(expected, 10);
    tf.dispose([a, b]);
  });

  it('agrees with a brute-force 2D-window oracle on a non-square image', async () => {
    const a = pattern(13, 17, 2, A);
    const b = pattern(13, 17, 2, (x, y, c) => A(x, y, c) * 0.8 + 0.1 * B(x, y, c));
    expect(await ssim(a, b)).toBeCloseTo(await bruteSsim(a, b), 10);
    tf.dispose([a, b]);
  });

  it('leaks no tensors', async () => {
    const a = pattern(11, 11, 3, A);
    await expectNoLeaks(async () => {
      await ssim(a, a);
      return undefined;
    });
    a.dispose();
  });
});

describe('psnr', () => {
  it('is 10·log10(max²/MSE): 20 dB for a uniform error of 0.1', async () => {
    const a = tf.zeros([4, 5, 3]);
    const b = tf.fill([4, 5, 3], 0.1);
    expect(await psnr(a, b)).toBeCloseTo(20, 5);
    expect(await psnr(a, b, { maxValue: 255 })).toBeCloseTo(20 + 20 * Math.log10(255), 5);
    tf.dispose([a, b]);
  });

  it('is +∞ for identical images', async () => {
    const a = pattern(3, 3, 3, A);
    expect(await psnr(a, a)).toBe(Number.POSITIVE_INFINITY);
    a.dispose();
  });

  it('averages the squared error over every element', async () => {
    // one element off by 1 among 8: MSE = 1/8
    const a = tf.zeros([2, 2, 2]);
    const b = tf.tensor3d([1, 0, 0, 0, 0, 0, 0, 0], [2, 2, 2]);
    expect(await psnr(a, b)).toBeCloseTo(10 * Math.log10(8), 10);
    tf.dispose([a, b]);
  });
});

describe('encodePng / decodePng', () => {
  it('clamps to [0, 1] and rounds 255·v, writing an RGB PNG that pngjs reads back', async () => {
    const img = tf.tensor3d([0, 0.5, 1, -0.2, 1.7, Number.NaN, 0.1, 0.2, 0.3, 1 / 255, 0.998, 0.002], [2, 2, 3]);
    const bytes = await encodePng(img);
    const png = PNG.sync.read(Buffer.from(bytes));
    expect([png.width, png.height, png.colorType]).toEqual([2, 2, 2]);
    expect(Array.from(png.data)).toEqual([0, 128, 255, 255, 0, 255, 0, 255, 26, 51, 77, 255, 1, 254, 1, 255]);
    const back = decodePng(bytes);
    await expectAllClose(
      back,
      [0, 128, 255, 0, 255, 0, 26, 51, 77, 1, 254, 1].map((v) => v / 255),
    );
    tf.dispose([img, back]);
  });

  it('keeps the alpha channel of a 4-channel image', async () => {
    const img = tf.tensor3d([1, 0, 0, 0.4], [1, 1, 4]);
    const bytes = await encodePng(img);
    expect(PNG.sync.read(Buffer.from(bytes)).colorType).toBe(6);
    const back = decodePng(bytes, { alpha: true });
    await expectAllClose(back, [1, 0, 0, 102 / 255]);
    tf.dispose([img, back]);
  });
});

describe('decodePng (interlaced)', () => {
  it('decodes an Adam7-interlaced PNG', async () => {
    const value = (x: number, y: number, c: number): number => (x * 17 + y * 5 + c * 60) % 256;
    const image = decodePng(pngBytes(13, 9, adam7Scanlines(13, 9, value), { interlaced: true }));
    expect(image.shape).toEqual([9, 13, 3]);
    const expected = new Float32Array(9 * 13 * 3);
    for (let y = 0; y < 9; y++)
      for (let x = 0; x < 13; x++) for (let c = 0; c < 3; c++) expected[(y * 13 + x) * 3 + c] = value(x, y, c) / 255;
    await expectAllClose(image, expected, { atol: 1e-7 });
    image.dispose();
  });
});

describe('savePng / loadPng', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ttt3d-png-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the PNG atomically and reads it back', async () => {
    const img = pattern(5, 7, 3, A);
    const path = join(dir, 'view.png');
    await savePng(img, path);
    expect(await readdir(dir)).toEqual(['view.png']);
    expect(new Uint8Array(await readFile(path))).toEqual(await encodePng(img));
    const back = await loadPng(path);
    await expectAllClose(back, img, { atol: 0.5 / 255 + 1e-6 });
    await expect(savePng(img, '')).rejects.toThrow(/path: expected a non-empty file path/);
    await expect(savePng(img, join(dir, 'no', 'such.png'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual(['view.png']);
    await expectNoLeaks(async () => {
      await savePng(img, path);
      return loadPng(path);
    });
    tf.dispose([img, back]);
  });
});
