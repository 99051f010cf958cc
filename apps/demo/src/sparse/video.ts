import { deflateSync } from 'node:zlib';
import { checkRange, checkShape, describeValue, philoxUniformArray, type Tensor, tf, ValueError } from '@tessera/tensor-core';

/**
 * The procedural video data set of the sparse-attention distillation study: clips of 1–3 discs and
 * squares moving at constant velocity and bouncing off the borders over a plain background, RGB in
 * [−1, 1], deterministic from (seed, clip index) through Philox.
 */
export interface VideoShape {
  /** Frames per clip F. */
  frames: number;
  /** Height = width of a frame in pixels (a multiple of `patch`). */
  size: number;
  /** Side of the square space-time patch, in pixels (one frame deep). */
  patch: number;
}

/**
 * 'pretrain': discs and squares, slow (0.5–1.5 px/frame at 32 px), over a dark grey background.
 * 'shifted': squares only, fast (2–3 px/frame), over a light ochre background — the small, shifted
 * fine-tuning set of papers/sparse.md A.3 (Case 3).
 */
export type ClipDistribution = 'pretrain' | 'shifted';

/** Philox positions each clip owns: clip i reads its parameters from [i·DRAWS, (i + 1)·DRAWS). */
const DRAWS_PER_CLIP = 64;
/** Most clips one call renders: keeps a batch's host buffer well under 100 MB at 32 × 32 × 8. */
export const MAX_CLIPS = 1024;
const SHIFTED_BACKGROUND = [0.6, 0.45, 0.1] as const;

interface Sprite {
  square: boolean;
  radius: number;
  colour: [number, number, number];
  x0: number;
  y0: number;
  vx: number;
  vy: number;
}

/** Position after moving `d` from `p0` inside [lo, hi] with reflections at the ends (a triangle wave). */
function bounce(p0: number, d: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (span <= 0) return lo;
  const u = (((p0 - lo + d) % (2 * span)) + 2 * span) % (2 * span);
  return lo + (u <= span ? u : 2 * span - u);
}

function checkVideoShape(shape: VideoShape, name: string): VideoShape {
  if (typeof shape !== 'object' || shape === null)
    throw new ValueError(`${name}: expected { frames, size, patch }, received ${describeValue(shape)}`);
  const frames = checkRange(shape.frames, { min: 1, max: 64, integer: true }, `${name}.frames`);
  const patch = checkRange(shape.patch, { min: 1, max: 16, integer: true }, `${name}.patch`);
  const size = checkRange(shape.size, { min: patch, max: 256, integer: true }, `${name}.size`);
  if (size % patch !== 0) throw new ValueError(`${name}.size: expected a multiple of patch = ${patch}, received ${size}`);
  return { frames, size, patch };
}

/** Tokens per clip: F · (size / patch)². */
export function tokensPerClip(shape: VideoShape): number {
  const g = shape.size / shape.patch;
  return shape.frames * g * g;
}

/** Channels per token: patch² · 3. */
export function tokenChannels(shape: VideoShape): number {
  return shape.patch * shape.patch * 3;
}

function drawSprites(u: Float32Array, size: number, distribution: ClipDistribution): { background: number[]; sprites: Sprite[] } {
  let at = 0;
  const next = () => u[at++] as number;
  const grey = -1 + 0.5 * next();
  const background = distribution === 'pretrain' ? [grey, grey, grey] : [...SHIFTED_BACKGROUND];
  const count = 1 + Math.min(2, Math.floor(3 * next()));
  const scale = size / 32;
  const sprites: Sprite[] = [];
  for (let s = 0; s < count; s++) {
    const square = distribution === 'shifted' || next() < 0.5;
    const radius = scale * (3 + 4 * next());
    // every colour channel away from the background, so each shape is visible
    const colour = [0, 1, 2].map((c) => {
      const v = -0.2 + 1.2 * next();
      return distribution === 'shifted' && Math.abs(v - (background[c] as number)) < 0.3 ? v - 0.9 : v;
    }) as [number, number, number];
    const x0 = radius + (size - 2 * radius) * next();
    const y0 = radius + (size - 2 * radius) * next();
    const angle = 2 * Math.PI * next();
    const speed = scale * (distribution === 'pretrain' ? 0.5 + next() : 2 + next());
    sprites.push({ square, radius, colour, x0, y0, vx: speed * Math.cos(angle), vy: speed * Math.sin(angle) });
  }
  return { background, sprites };
}

/**
 * Renders clips `indices` of the data set `seed` as host data `[B, F, size, size, 3]` (row-major), in
 * [−1, 1]. Shapes are anti-aliased (one-pixel coverage ramp) and drawn in order, later over earlier.
 */
export function renderClips(indices: readonly number[], opts: VideoShape & { seed: number; distribution: ClipDistribution }): Float32Array {
  const { frames, size } = checkVideoShape(opts, 'opts');
  const seed = checkRange(opts.seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'opts.seed');
  if (opts.distribution !== 'pretrain' && opts.distribution !== 'shifted') {
    throw new ValueError(`opts.distribution: expected 'pretrain' or 'shifted', received ${describeValue(opts.distribution)}`);
  }
  if (!Array.isArray(indices) || indices.length < 1 || indices.length > MAX_CLIPS) {
    throw new ValueError(`indices: expected 1 to ${MAX_CLIPS} clip indices, received ${describeValue(indices)}`);
  }
  const perClip = frames * size * size * 3;
  const out = new Float32Array(indices.length * perClip);
  indices.forEach((index, b) => {
    checkRange(index, { min: 0, max: Math.floor(Number.MAX_SAFE_INTEGER / DRAWS_PER_CLIP) - 1, integer: true }, `indices[${b}]`);
    const { background, sprites } = drawSprites(philoxUniformArray(DRAWS_PER_CLIP, seed, index * DRAWS_PER_CLIP), size, opts.distribution);
    for (let f = 0; f < frames; f++) {
      const base = b * perClip + f * size * size * 3;
      for (let p = 0; p < size * size; p++) out.set(background, base + 3 * p);
      for (const s of sprites) {
        const cx = bounce(s.x0, s.vx * f, s.radius, size - s.radius);
        const cy = bounce(s.y0, s.vy * f, s.radius, size - s.radius);
        const y1 = Math.max(0, Math.floor(cy - s.radius - 1));
        const y2 = Math.min(size - 1, Math.ceil(cy + s.radius + 1));
        const x1 = Math.max(0, Math.floor(cx - s.radius - 1));
        const x2 = Math.min(size - 1, Math.ceil(cx + s.radius + 1));
        for (let y = y1; y <= y2; y++) {
          for (let x = x1; x <= x2; x++) {
            const dx = x + 0.5 - cx;
            const dy = y + 0.5 - cy;
            const d = s.square ? Math.max(Math.abs(dx), Math.abs(dy)) : Math.hypot(dx, dy);
            const alpha = Math.min(1, Math.max(0, s.radius + 0.5 - d));
            if (alpha === 0) continue;
            const at = base + 3 * (y * size + x);
            for (let c = 0; c < 3; c++) out[at + c] = (1 - alpha) * (out[at + c] as number) + alpha * (s.colour[c] as number);
          }
        }
      }
    }
  });
  return out;
}

/** `renderClips` as a float32 tensor `[B, F, size, size, 3]`. */
export function clipBatch(indices: readonly number[], opts: VideoShape & { seed: number; distribution: ClipDistribution }): Tensor {
  const data = renderClips(indices, opts);
  return tf.tensor(data, [indices.length, opts.frames, opts.size, opts.size, 3], 'float32');
}

/**
 * Space-time patches: `video [B, F, S, S, 3]` → tokens `[B, F·(S/p)², p·p·3]`, ordered frame-major then
 * raster (row, column); a token's channels are (dy, dx, rgb). Rank-4 transposes only (WebGPU's limit).
 */
export function patchify(video: Tensor, shape: VideoShape): Tensor {
  const { frames, size, patch } = checkVideoShape(shape, 'shape');
  checkShape(video, [null, frames, size, size, 3], 'video');
  const b = video.shape[0] as number;
  const g = size / patch;
  return tf.tidy(() => {
    const rows = tf.reshape(video, [b * frames * g, patch, g, patch * 3]);
    return tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [b, frames * g * g, patch * patch * 3]);
  });
}

/** The inverse of `patchify`: tokens `[B, F·(S/p)², p·p·3]` → `[B, F, S, S, 3]`. */
export function unpatchify(tokens: Tensor, shape: VideoShape): Tensor {
  const { frames, size, patch } = checkVideoShape(shape, 'shape');
  const g = size / patch;
  checkShape(tokens, [null, frames * g * g, patch * patch * 3], 'tokens');
  const b = tokens.shape[0] as number;
  return tf.tidy(() => {
    const cells = tf.reshape(tokens, [b * frames * g, g, patch, patch * 3]);
    return tf.reshape(tf.transpose(cells, [0, 2, 1, 3]), [b, frames, size, size, 3]);
  });
}

/** Token batch of clips `indices`: `patchify(clipBatch(...))`, `[B, L, C]`. */
export function tokenBatch(indices: readonly number[], opts: VideoShape & { seed: number; distribution: ClipDistribution }): Tensor {
  const video = clipBatch(indices, opts);
  try {
    return patchify(video, opts);
  } finally {
    video.dispose();
  }
}

/** PNG (8-bit RGB, no interlace) of `rgb` (height·width·3 values in [−1, 1], clamped for display). */
export function encodeRgbPng(rgb: ArrayLike<number>, width: number, height: number): Uint8Array {
  checkRange(width, { min: 1, max: 16384, integer: true }, 'width');
  checkRange(height, { min: 1, max: 16384, integer: true }, 'height');
  if (rgb.length !== width * height * 3) throw new ValueError(`rgb: expected ${width * height * 3} values, received ${rgb.length}`);
  const raw = Buffer.alloc(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + 3 * width);
    for (let i = 0; i < 3 * width; i++) {
      const v = rgb[y * 3 * width + i] as number;
      raw[row + 1 + i] = Number.isNaN(v) ? 0 : Math.round(127.5 * (Math.min(1, Math.max(-1, v)) + 1));
    }
  }
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const body = Buffer.concat([head.subarray(4), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body), 0);
    return Buffer.concat([head.subarray(0, 4), body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, the PNG chunk checksum). */
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A strip image of clips: one row per clip, its F frames side by side with a one-pixel gap.
 * `clips [R, F, S, S, 3]` host data → `{ rgb, width, height }` for `encodeRgbPng`.
 */
export function stripImage(
  clips: Float32Array,
  rows: number,
  shape: Pick<VideoShape, 'frames' | 'size'>,
): { rgb: Float32Array; width: number; height: number } {
  const { frames, size } = shape;
  if (clips.length !== rows * frames * size * size * 3) {
    throw new ValueError(`clips: expected ${rows} · ${frames} · ${size} · ${size} · 3 values, received ${clips.length}`);
  }
  const width = frames * (size + 1) - 1;
  const height = rows * (size + 1) - 1;
  const rgb = new Float32Array(width * height * 3).fill(1);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < frames; f++) {
      for (let y = 0; y < size; y++) {
        const src = ((r * frames + f) * size + y) * size * 3;
        const dst = ((r * (size + 1) + y) * width + f * (size + 1)) * 3;
        rgb.set(clips.subarray(src, src + size * 3), dst);
      }
    }
  }
  return { rgb, width, height };
}
