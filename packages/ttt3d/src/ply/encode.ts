import { describeValue, ValueError } from '@tessera/tensor-core';
import { Gaussians } from '../gaussians/gaussians.js';
import { plyProperties } from './layout.js';

/**
 * The standard 3DGS .ply of `g` (graphdeco `GaussianModel.save_ply`): an ASCII header
 * `ply / format binary_little_endian 1.0 / element vertex N / property float <name>…  / end_header`, then
 * N records of float32 little-endian values in `plyProperties(g.shDegree)` order: position, a zero
 * normal, the DC coefficients, the other SH coefficients channel-major (all of R's, then G's, then B's,
 * as `_features_rest.transpose(1, 2).flatten`), the opacity logit, the log-scales and the quaternion
 * (w, x, y, z) as stored (not normalised). Values are copied bit for bit.
 */
export async function encodePly(g: Gaussians): Promise<Uint8Array> {
  if (!(g instanceof Gaussians)) throw new ValueError(`g: expected Gaussians, received ${describeValue(g)}`);
  const names = plyProperties(g.shDegree);
  const header = `ply\nformat binary_little_endian 1.0\nelement vertex ${g.count}\n${names
    .map((name) => `property float ${name}\n`)
    .join('')}end_header\n`;
  const headerBytes = new TextEncoder().encode(header);
  const [means, logScales, quaternions, opacityLogits, sh] = await Promise.all(
    [g.means, g.logScales, g.quaternions, g.opacityLogits, g.sh].map(async (t) => bitsOf(await t.data())),
  );
  const n = g.count;
  const k = g.sh.shape[1]!;
  const stride = names.length;
  const out = new Uint8Array(headerBytes.length + 4 * n * stride);
  out.set(headerBytes);
  const view = new DataView(out.buffer, headerBytes.length);
  let p = 0;
  const put = (bits: number): void => {
    view.setUint32(p, bits, true);
    p += 4;
  };
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) put(means![3 * i + a]!);
    p += 12; // normals: zero
    for (let c = 0; c < 3; c++) put(sh![i * k * 3 + c]!);
    for (let c = 0; c < 3; c++) for (let j = 1; j < k; j++) put(sh![(i * k + j) * 3 + c]!);
    put(opacityLogits![i]!);
    for (let a = 0; a < 3; a++) put(logScales![3 * i + a]!);
    for (let a = 0; a < 4; a++) put(quaternions![4 * i + a]!);
  }
  return out;
}

/** The raw bits of float32 data, so NaN payloads and −0 survive the copy. */
function bitsOf(data: ArrayLike<number> & { buffer?: ArrayBufferLike }): Uint32Array {
  if (data instanceof Float32Array) return new Uint32Array(data.buffer, data.byteOffset, data.length);
  return new Uint32Array(Float32Array.from(data).buffer);
}
