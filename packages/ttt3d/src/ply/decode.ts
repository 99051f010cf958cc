import { FormatError, tf } from '@tessera/tensor-core';
import { Gaussians } from '../gaussians/gaussians.js';
import { shDegreeOf } from '../gaussians/sh.js';
import { type PlyProperty, parsePlyHeader } from './header.js';

const REQUIRED = [
  'x',
  'y',
  'z',
  'f_dc_0',
  'f_dc_1',
  'f_dc_2',
  'opacity',
  'scale_0',
  'scale_1',
  'scale_2',
  'rot_0',
  'rot_1',
  'rot_2',
  'rot_3',
];

/**
 * Gaussians from a 3DGS .ply (see `encodePly` for the layout). Properties are found by name, so their
 * order, extra properties (normals, colours, …) and other elements are accepted; every property the
 * Gaussians need must be a float32, and f_rest_0..M−1 must be contiguous with M ∈ {0, 9, 24, 45}
 * (SH degree 0–3). Throws FormatError naming the problem: bad magic or header, unsupported format
 * (ascii, big-endian), a missing or non-float property, or a vertex count that runs past the end.
 */
export function decodePly(bytes: Uint8Array): Gaussians {
  const { elements, dataOffset } = parsePlyHeader(bytes);
  const index = elements.findIndex((e) => e.name === 'vertex');
  if (index < 0) throw new FormatError('ply: no "vertex" element in the header');
  const vertex = elements[index]!;
  const start = dataOffset + elements.slice(0, index).reduce((sum, e) => sum + e.count * e.stride, 0);
  const byName = new Map(vertex.properties.map((p) => [p.name, p]));
  const need = (name: string): PlyProperty => {
    const p = byName.get(name);
    if (!p) throw new FormatError(`ply: missing property "${name}" in element vertex`);
    if (p.type !== 'float' && p.type !== 'float32') {
      throw new FormatError(`ply: property "${name}" has type ${p.type}, expected float (float32)`);
    }
    return p;
  };
  for (const name of REQUIRED) need(name);
  const restCount = vertex.properties.filter((p) => p.name.startsWith('f_rest_')).length;
  const k = restCount / 3 + 1;
  const degree = restCount % 3 === 0 ? shDegreeOf(k) : -1;
  if (degree < 0) {
    throw new FormatError(`ply: ${restCount} f_rest properties, expected 0, 9, 24 or 45 (SH degree 0–3)`);
  }
  const n = vertex.count;
  const end = start + n * vertex.stride;
  if (end > bytes.length) {
    throw new FormatError(
      `ply: vertex count ${n} runs past the end of the data: needs ${end - dataOffset} bytes after the header, the file has ${bytes.length - dataOffset}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // copies raw bits, so every value (NaN payloads, −0) comes back exactly as written
  const read = (p: PlyProperty, out: Uint32Array, width: number, at: number): void => {
    for (let i = 0; i < n; i++) out[i * width + at] = view.getUint32(start + i * vertex.stride + p.offset, true);
  };
  const means = new Uint32Array(n * 3);
  const logScales = new Uint32Array(n * 3);
  const quaternions = new Uint32Array(n * 4);
  const opacityLogits = new Uint32Array(n);
  const sh = new Uint32Array(n * k * 3);
  // (property, destination, values per Gaussian, slot) in the Gaussians' own layouts
  const plan: [string, Uint32Array, number, number][] = [
    ...['x', 'y', 'z'].map((name, a) => [name, means, 3, a] as [string, Uint32Array, number, number]),
    ...['scale_0', 'scale_1', 'scale_2'].map((name, a) => [name, logScales, 3, a] as [string, Uint32Array, number, number]),
    ...['rot_0', 'rot_1', 'rot_2', 'rot_3'].map((name, a) => [name, quaternions, 4, a] as [string, Uint32Array, number, number]),
    ['opacity', opacityLogits, 1, 0],
    ...[0, 1, 2].map((c) => [`f_dc_${c}`, sh, 3 * k, c] as [string, Uint32Array, number, number]),
    // f_rest_m holds channel ⌊m / (K−1)⌋ of coefficient 1 + m mod (K−1)
    ...Array.from(
      { length: restCount },
      (_, m) => [`f_rest_${m}`, sh, 3 * k, 3 * (1 + (m % (k - 1))) + Math.floor(m / (k - 1))] as [string, Uint32Array, number, number],
    ),
  ];
  for (const [name, out, width, slot] of plan) read(need(name), out, width, slot);
  const floats = (u: Uint32Array): Float32Array => new Float32Array(u.buffer);
  return new Gaussians({
    means: tf.tensor2d(floats(means), [n, 3], 'float32'),
    logScales: tf.tensor2d(floats(logScales), [n, 3], 'float32'),
    quaternions: tf.tensor2d(floats(quaternions), [n, 4], 'float32'),
    opacityLogits: tf.tensor1d(floats(opacityLogits), 'float32'),
    sh: tf.tensor3d(floats(sh), [n, k, 3], 'float32'),
  });
}
