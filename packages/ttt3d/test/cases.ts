import { deflateSync } from 'node:zlib';
import { philoxUniform, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { Camera } from '../src/camera/index.js';
import { Gaussians, SH_C0 } from '../src/gaussians/index.js';

/** Shared builders of the ttt3d tests and benches: seeded scenes and cameras. */

/** Options of `randomGaussians`. */
export interface RandomSceneOptions {
  count: number;
  /** SH degree 0–3. */
  shDegree: number;
  seed: number;
  /** Means are uniform in [−extent, extent]³ around `center`. */
  extent: number;
  center?: readonly [number, number, number];
  /** Log-scales are uniform in [logScaleMin, logScaleMax]. */
  logScaleMin: number;
  logScaleMax: number;
}

/**
 * A seeded random scene: Philox draws, so every backend builds the same Gaussians. Opacity logits in
 * [−2, 3], SH DC in [−1.5, 1.5], higher bands in [−0.4, 0.4], quaternions unnormalised in [−1, 1]⁴.
 */
export function randomGaussians(opts: RandomSceneOptions): Gaussians {
  const { count: n, seed, extent } = opts;
  const k = (opts.shDegree + 1) * (opts.shDegree + 1);
  const fields = tf.tidy(() => {
    let offset = 0;
    const draw = (shape: number[], low: number, high: number): Tensor => {
      const u = philoxUniform(shape, { seed, offset, low, high });
      offset += shape.reduce((a, b) => a * b, 1);
      return u;
    };
    const center = opts.center ?? [0, 0, 0];
    const means = tf.add(draw([n, 3], -extent, extent), tf.tensor1d([...center]));
    const logScales = draw([n, 3], opts.logScaleMin, opts.logScaleMax);
    const quaternions = draw([n, 4], -1, 1);
    const opacityLogits = draw([n], -2, 3);
    const dc = draw([n, 1, 3], -1.5, 1.5);
    const sh = k === 1 ? dc : tf.concat([dc, draw([n, k - 1, 3], -0.4, 0.4)], 1);
    return { means, logScales, quaternions, opacityLogits, sh };
  });
  return new Gaussians(fields);
}

/** A camera at (0, 0, −4) looking down +z (identity rotation), principal point at a pixel centre. */
export function frontCamera(size = 32, f = 40): Camera {
  const c = size / 2 - 0.5;
  return new Camera({
    fx: f,
    fy: f,
    cx: c,
    cy: c,
    width: size,
    height: size,
    worldToCamera: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4, 0, 0, 0, 1],
  });
}

/** One isotropic Gaussian of `blobs`. */
export interface Blob {
  at: [number, number, number];
  scale: number;
  opacity: number;
  rgb: [number, number, number];
}

const logit = (p: number): number => Math.log(p / (1 - p));

/** Isotropic Gaussians with DC-only colour: each renders as colour rgb (= SH_C0·dc + 0.5). */
export function blobs(list: Blob[]): Gaussians {
  return new Gaussians({
    means: tf.tensor2d(
      list.flatMap((b) => b.at),
      [list.length, 3],
    ),
    logScales: tf.tensor2d(
      list.flatMap((b) => [Math.log(b.scale), Math.log(b.scale), Math.log(b.scale)]),
      [list.length, 3],
    ),
    quaternions: tf.tensor2d(
      list.flatMap(() => [1, 0, 0, 0]),
      [list.length, 4],
    ),
    opacityLogits: tf.tensor1d(list.map((b) => logit(b.opacity))),
    sh: tf.tensor3d(
      list.flatMap((b) => b.rgb.map((c) => (c - 0.5) / SH_C0)),
      [list.length, 1, 3],
    ),
  });
}

/**
 * A .ply assembled from the 3DGS layout by hand (graphdeco save_ply with plyfile): header lines, then
 * float32 little-endian records. `props` lists [type, name]; `rows` one number per property per vertex.
 */
export function handPly(
  props: readonly [string, string][],
  rows: readonly number[][],
  opts: { format?: string; count?: number } = {},
): Uint8Array {
  const header = [
    'ply',
    `format ${opts.format ?? 'binary_little_endian'} 1.0`,
    `element vertex ${opts.count ?? rows.length}`,
    ...props.map(([type, name]) => `property ${type} ${name}`),
    'end_header',
    '',
  ].join('\n');
  const size: Record<string, number> = { float: 4, uchar: 1, double: 8 };
  const stride = props.reduce((s, [type]) => s + size[type]!, 0);
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(head.length + rows.length * stride);
  out.set(head);
  const view = new DataView(out.buffer, head.length);
  let p = 0;
  for (const row of rows) {
    props.forEach(([type], i) => {
      if (type === 'float') view.setFloat32(p, row[i]!, true);
      else if (type === 'uchar') view.setUint8(p, row[i]!);
      else view.setFloat64(p, row[i]!, true);
      p += size[type]!;
    });
  }
  return out;
}

/** The degree-1 property list, written out by hand from graphdeco's construct_list_of_attributes. */
export const DEGREE1: [string, string][] = [
  'x y z nx ny nz f_dc_0 f_dc_1 f_dc_2',
  'f_rest_0 f_rest_1 f_rest_2 f_rest_3 f_rest_4 f_rest_5 f_rest_6 f_rest_7 f_rest_8',
  'opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3',
]
  .join(' ')
  .split(' ')
  .map((name) => ['float', name]);

/**
 * Two degree-1 Gaussians. sh[n][k][c] = 100·n + 10·k + c, so f_rest (channel-major) reads
 * R of coefficients 1, 2, 3, then G of 1, 2, 3, then B.
 */
export const SH_ROWS = [0, 1].map((n) => [
  ...[0, 1, 2].map((c) => 100 * n + c),
  ...[0, 1, 2].flatMap((c) => [1, 2, 3].map((k) => 100 * n + 10 * k + c)),
]);
export const HAND_ROWS = [0, 1].map((n) => [
  n + 0.5,
  -n,
  2 * n + 0.25,
  0,
  0,
  0,
  ...SH_ROWS[n]!,
  -1.5 + n,
  -2 - n,
  -3,
  -4,
  1,
  0.5 * n,
  -0.25,
  2,
]);

/**
 * An 8-bit RGB PNG assembled by hand: the IHDR declares `width` × `height` (Adam7 with `interlaced`) whatever
 * `raw` (filtered scanlines, deflated into one IDAT) holds, so tests can build files that lie about their size.
 */
export function pngBytes(width: number, height: number, raw: Uint8Array, opts: { interlaced?: boolean } = {}): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Uint8Array): number => {
    let c = 0xffffffff;
    for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 2, 0, 0, opts.interlaced ? 1 : 0], 8);
  const parts = [
    Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Adam7 scanlines (filter byte 0) of a w × h RGB image with byte `value(x, y, channel)`: passes in order. */
export function adam7Scanlines(w: number, h: number, value: (x: number, y: number, c: number) => number): Uint8Array {
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ] as const;
  const bytes: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    if (x0 >= w) continue;
    for (let y = y0; y < h; y += dy) {
      bytes.push(0);
      for (let x = x0; x < w; x += dx) for (let c = 0; c < 3; c++) bytes.push(value(x, y, c));
    }
  }
  return Uint8Array.from(bytes);
}
