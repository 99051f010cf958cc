import { PHILOX_WGSL, type ProgramUniform, scalarUniforms } from '@tessera/tensor-core';

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
