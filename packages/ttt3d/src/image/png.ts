import { describeValue, FormatError, tf, ValueError, writeFileAtomic } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { PNG } from 'pngjs';
import { checkImage } from './check-image.js';

/** Options of `decodePng` and `loadPng`. */
export interface LoadPngOptions {
  /** Keep the alpha channel: `[h, w, 4]` instead of `[h, w, 3]`. Default false. */
  alpha?: boolean;
}

/**
 * PNG bytes (8-bit RGB or RGBA) of an image `[h, w, 3]` or `[h, w, 4]` with values in [0, 1]. Image
 * convention: each value is clamped to [0, 1], then round(255·v) (NaN becomes 0).
 */
export async function encodePng(image: Tensor): Promise<Uint8Array> {
  checkImage(image, 'image', [3, 4]);
  const [h, w, c] = image.shape as [number, number, number];
  const values = await image.data();
  const rgba = Buffer.alloc(h * w * 4, 255);
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < c; k++) {
      const v = values[i * c + k] as number;
      rgba[i * 4 + k] = Number.isNaN(v) ? 0 : Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
  const png = new PNG({ width: w, height: h });
  png.data = rgba;
  return new Uint8Array(PNG.sync.write(png, { colorType: c === 4 ? 6 : 2 }));
}

/** Writes `image` (see `encodePng`) as a PNG file at `path` (Node only), atomically (temp file, fsync, rename). */
export async function savePng(image: Tensor, path: string): Promise<void> {
  if (typeof path !== 'string' || path === '')
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  await writeFileAtomic(path, await encodePng(image));
}

/** An image `[h, w, 3]` (or `[h, w, 4]` with `alpha`) with values v/255 from PNG bytes of any colour type. */
export function decodePng(bytes: Uint8Array, opts: LoadPngOptions = {}): Tensor {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new FormatError(`png: not a readable PNG (${(e as Error).message})`);
  }
  const c = opts.alpha ? 4 : 3;
  const { width, height, data } = png;
  const out = new Float32Array(width * height * c);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < c; k++) out[i * c + k] = (data[i * 4 + k] as number) / 255;
  }
  return tf.tensor3d(out, [height, width, c], 'float32');
}

/** Reads a PNG file (Node only); see `decodePng`. The caller owns the tensor. */
export async function loadPng(path: string, opts: LoadPngOptions = {}): Promise<Tensor> {
  if (typeof path !== 'string' || path === '')
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  const fs = await import('node:fs/promises');
  return decodePng(await fs.readFile(path), opts);
}
