import { inflateSync } from 'node:zlib';
import { checkOptions, describeValue, FormatError, tf, ValueError, writeFileAtomic } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { PNG } from 'pngjs';
import { MAX_IMAGE_PIXELS } from '../camera/camera.js';
import { checkImage } from './check-image.js';

/** Most pixels `decodePng` accepts (width × height as the file declares it): MAX_IMAGE_PIXELS, 2²⁵. */
export const MAX_PNG_PIXELS = MAX_IMAGE_PIXELS;

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Channels per PNG colour type (greyscale, RGB, palette, grey + alpha, RGBA). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes of filtered scanlines (one filter byte per row) an image of w × h at `bits` per pixel inflates to. */
function scanlineBytes(w: number, h: number, bits: number): number {
  return w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * bits) / 8));
}

/**
 * Checks what a PNG declares before anything is allocated for it: the signature, the IHDR size against
 * MAX_PNG_PIXELS, chunk lengths against the data, and that the image data (IDAT) inflates to at least
 * the scanlines the header declares — pngjs fills missing rows with zeros, so a 68-byte file declaring
 * 20000 × 20000 would otherwise decode to a 6.3 GB blank image. Inflation stops at that size.
 */
function checkPngData(bytes: Uint8Array): void {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new FormatError(`png: not a PNG (expected the 8-byte PNG signature and an IHDR chunk), received ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (view.getUint32(8) !== 13 || type(12) !== 'IHDR') throw new FormatError('png: expected the IHDR chunk first');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const bitDepth = bytes[24] as number;
  const channels = CHANNELS[bytes[25] as number];
  const interlaced = bytes[28] === 1;
  if (width < 1 || height < 1) throw new FormatError(`png: expected a width and height ≥ 1, received ${width} × ${height}`);
  if (width * height > MAX_PNG_PIXELS) {
    throw new FormatError(
      `png: expected at most ${MAX_PNG_PIXELS} pixels (MAX_PNG_PIXELS), received a header declaring ${width} × ${height} = ${width * height}`,
    );
  }
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(bitDepth)) {
    throw new FormatError(`png: unsupported colour type ${bytes[25]} with bit depth ${bitDepth}`);
  }
  const bits = channels * bitDepth;
  const expected = interlaced
    ? ADAM7.reduce(
        (sum, [x0, y0, dx, dy]) =>
          sum + scanlineBytes(Math.max(0, Math.ceil((width - x0) / dx)), Math.max(0, Math.ceil((height - y0) / dy)), bits),
        0,
      )
    : scanlineBytes(width, height, bits);
  const parts: Uint8Array[] = [];
  for (let at = 8; at < bytes.length; ) {
    if (at + 12 > bytes.length) throw new FormatError(`png: truncated chunk header at byte ${at} of ${bytes.length}`);
    const length = view.getUint32(at);
    if (at + 12 + length > bytes.length) {
      throw new FormatError(
        `png: chunk ${JSON.stringify(type(at + 4))} declares ${length} bytes, but the file ends ${bytes.length - at - 12} bytes after its header`,
      );
    }
    if (type(at + 4) === 'IDAT') parts.push(bytes.subarray(at + 8, at + 8 + length));
    if (type(at + 4) === 'IEND') break;
    at += 12 + length;
  }
  let inflated: number;
  try {
    inflated = inflateSync(Buffer.concat(parts), { maxOutputLength: expected }).length;
  } catch (e) {
    // more data than the header needs is harmless (decoders ignore it); anything else is a broken stream
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return;
    throw new FormatError(`png: image data does not inflate (${(e as Error).message})`);
  }
  if (inflated < expected) {
    throw new FormatError(
      `png: header declares ${width} × ${height} (${expected} bytes of scanlines), but the image data inflates to ${inflated} bytes`,
    );
  }
}

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

/**
 * An image `[h, w, 3]` (or `[h, w, 4]` with `alpha`) with values v/255 from PNG bytes of any colour type.
 * The declared size is checked first: at most MAX_PNG_PIXELS, and backed by enough image data (a file
 * whose data is short is a FormatError, never a zero-filled image).
 */
export function decodePng(bytes: Uint8Array, options?: LoadPngOptions): Tensor {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`bytes: expected a Uint8Array of PNG data, received ${describeValue(bytes)}`);
  const opts = checkOptions(options, ['alpha']);
  if (opts.alpha !== undefined && typeof opts.alpha !== 'boolean') {
    throw new ValueError(`alpha: expected a boolean, received ${describeValue(opts.alpha)}`);
  }
  checkPngData(bytes);
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
export async function loadPng(path: string, opts?: LoadPngOptions): Promise<Tensor> {
  if (typeof path !== 'string' || path === '')
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  checkOptions(opts, ['alpha']);
  const fs = await import('node:fs/promises');
  return decodePng(await fs.readFile(path), opts);
}
