import { createRequire } from 'node:module';
import type { Gifenc } from 'gifenc';

// gifenc is CommonJS with an ESM build behind its "module" field: Node's import gives the CommonJS
// exports as the default, bundlers (vitest) the ESM named exports. require gives the same object to both.
const gifenc = createRequire(import.meta.url)('gifenc') as Gifenc;

/** RGB frames in [0, 1] (`[h, w, 3]` row-major, one Float32Array each) as 8-bit RGBA. */
export function toRgba(rgb: Float32Array, width: number, height: number): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) rgba[4 * p + c] = Math.round(255 * Math.min(1, Math.max(0, (rgb[3 * p + c] as number) || 0)));
    rgba[4 * p + 3] = 255;
  }
  return rgba;
}

/**
 * An endlessly looping GIF of equally sized RGB frames (values in [0, 1]), `delayMs` per frame. One
 * palette, quantised from every frame, serves them all, so colours do not flicker as the view turns.
 */
export function encodeGif(frames: readonly Float32Array[], width: number, height: number, delayMs: number): Uint8Array {
  const { GIFEncoder, quantize, applyPalette } = gifenc;
  const rgba = frames.map((f) => toRgba(f, width, height));
  const all = new Uint8Array(rgba.reduce((n, f) => n + f.length, 0));
  rgba.reduce((at, f) => {
    all.set(f, at);
    return at + f.length;
  }, 0);
  const palette = quantize(all, 256);
  const gif = GIFEncoder();
  rgba.forEach((f, i) => {
    // the first frame carries the palette as the global colour table; the others use it
    gif.writeFrame(applyPalette(f, palette), width, height, i === 0 ? { palette, delay: delayMs, repeat: 0 } : { delay: delayMs });
  });
  gif.finish();
  return gif.bytes();
}
