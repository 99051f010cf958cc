import { type ProgramUniform, scalarUniforms } from '@tessera/tensor-core';

/**
 * Philox-4x32-10 in WGSL: a copy, word for word, of tensor-core's `PHILOX_WGSL` (src/philox/philox.wgsl.ts),
 * which the package does not export. The high half of each 32×32 product is assembled from 16-bit limbs as
 * tensor-core's JS `philox4x32` does; `ROW_UNIFORM_WGSL`'s numbers are checked against `philoxUniform` by
 * the tests (test/fused-dispatch.test.ts), so a drift between the copies fails there.
 */
const PHILOX_WGSL = `
  fn mulhi32(a : u32, b : u32) -> u32 {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let hl = ah * bl;
    let lh = al * bh;
    let cross = (ll >> 16u) + (hl & 0xffffu) + (lh & 0xffffu);
    return ah * bh + (hl >> 16u) + (lh >> 16u) + (cross >> 16u);
  }

  fn philox4x32(counter : vec4<u32>, key : vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0; round < 10; round++) {
      if (round > 0) {
        k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
      }
      let hi0 = mulhi32(0xd2511f53u, c.x);
      let lo0 = 0xd2511f53u * c.x;
      let hi1 = mulhi32(0xcd9e8d57u, c.z);
      let lo1 = 0xcd9e8d57u * c.z;
      c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
  }
`;

/** The uniform fields `ROW_UNIFORM_WGSL` reads (WGSL struct members with trailing commas). */
export const ROW_UNIFORM_FIELDS = 'seedLo : u32, seedHi : u32, offsetLo : u32, offsetHi : u32,';

/** Values of `ROW_UNIFORM_FIELDS`: the 32-bit words of the seed and of the offset (non-negative safe integers). */
export function rowUniformData(seed: number, offset: number): ProgramUniform[] {
  const words = (v: number): number[] => [v >>> 0, Math.floor(v / 4294967296) >>> 0];
  return scalarUniforms('uint32', [...words(seed), ...words(offset)]);
}

/**
 * `rowUniform(row)`: the uniform of `philoxUniform([B], { seed, offset })` at `row`, bit for bit, computed
 * where it is used so that the fused sampler needs no Philox program of its own: stream position
 * offset + row (64-bit, from two words) is word (position mod 4) of the Philox block ⌊position / 4⌋ under
 * the key (seed low, seed high), its top 24 bits × 2⁻²⁴. Expects the uniforms `ROW_UNIFORM_FIELDS`.
 */
export const ROW_UNIFORM_WGSL = `
  ${PHILOX_WGSL}
  fn rowUniform(row : i32) -> f32 {
    let lo = uniforms.offsetLo + u32(row);
    let hi = uniforms.offsetHi + select(0u, 1u, lo < uniforms.offsetLo);
    let block = vec2<u32>((lo >> 2u) | (hi << 30u), hi >> 2u);
    let words = philox4x32(vec4<u32>(block.x, block.y, 0u, 0u), vec2<u32>(uniforms.seedLo, uniforms.seedHi));
    return f32(words[lo & 3u] >> 8u) * ${(1 / 16777216).toExponential()};
  }
`;
