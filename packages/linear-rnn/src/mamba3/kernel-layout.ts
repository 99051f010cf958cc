import { type ProgramUniform, scalarUniforms } from '@tessera/tensor-core';

/**
 * Rows (token × rank pairs) of one WGSL chunk tile. The kernels pick their own chunk of ⌊64/R⌋ tokens,
 * as mamba_ssm recommends (64 for SISO, 64/R for MIMO); `chunkSize` shapes only the tfjs chunked form,
 * and the result does not depend on either.
 */
export const TILE_ROWS = 64;

/** Sizes the Mamba-3 programs share, passed to every one of them as the same uniforms. */
export interface KernelLayout {
  /** B·H */
  rows: number;
  heads: number;
  seqLen: number;
  rank: number;
  headDim: number;
  stateDim: number;
  angles: number;
  /** Tokens per WGSL chunk. */
  tileTokens: number;
  chunks: number;
  /** Floats per (b, h) row of the packed result. */
  width: number;
}

export function kernelLayout(
  batch: number,
  heads: number,
  seqLen: number,
  rank: number,
  headDim: number,
  stateDim: number,
  angles: number,
): KernelLayout {
  const tileTokens = Math.max(1, Math.floor(TILE_ROWS / rank));
  return {
    rows: batch * heads,
    heads,
    seqLen,
    rank,
    headDim,
    stateDim,
    angles,
    tileTokens,
    chunks: Math.ceil(seqLen / tileTokens),
    width: seqLen * rank * headDim + headDim * stateDim + rank * stateDim + angles,
  };
}

/** The uniform fields every Mamba-3 program declares, in the order of `layoutUniforms`. */
export const LAYOUT_UNIFORMS =
  'rows : i32, heads : i32, seqLen : i32, rank : i32, headDim : i32, stateDim : i32, angles : i32, tileTokens : i32, chunks : i32, width : i32,';

export function layoutUniforms(k: KernelLayout): ProgramUniform[] {
  return scalarUniforms('int32', [k.rows, k.heads, k.seqLen, k.rank, k.headDim, k.stateDim, k.angles, k.tileTokens, k.chunks, k.width]);
}

/** WGSL helpers: the angle wrap and the rotation of element `n` of a pair (n even: first, odd: second). */
export const ROTARY_WGSL = `
  const PI = 3.14159265358979;
  const TWO_PI = 6.28318530717959;
  fn wrapAngle(a : f32) -> f32 {
    return a - TWO_PI * floor(a / TWO_PI);
  }
  // tanh through exp overflows to NaN on some drivers for large |x|; tanh(±15) is ±1 in f32 anyway
  fn safeTanh(x : f32) -> f32 {
    return tanh(clamp(x, -15.0, 15.0));
  }
  fn rotateElement(first : f32, second : f32, angle : f32, odd : bool) -> f32 {
    let c = cos(angle);
    let s = sin(angle);
    return select(first * c - second * s, first * s + second * c, odd);
  }
`;

/**
 * WGSL `fn rotated_<buffer>(row, r, n) -> f32`: element n of rank block r of token `row` (= b·h·L + t)
 * of a `[B, H, L, R·N]` buffer, rotated by the token's angle read from `ang` (AngleProgram).
 */
export function rotatedLoadWGSL(buffer: string): string {
  return `
  fn rotated_${buffer}(row : i32, r : i32, n : i32) -> f32 {
    let base = row * uniforms.rank * uniforms.stateDim + r * uniforms.stateDim;
    let even = n - n % 2;
    let first = ${buffer}[base + even];
    let second = ${buffer}[base + even + 1];
    let pair = even / 2;
    if (pair >= uniforms.angles) {
      return select(first, second, n % 2 == 1);
    }
    return rotateElement(first, second, ang[row * (uniforms.angles + 1) + pair], n % 2 == 1);
  }
`;
}

/**
 * WGSL `fn rotatePair(u, token, pair) -> vec2<f32>`: the pair (u.x, u.y) = elements (2·pair, 2·pair + 1)
 * of a key or query of `token` (= b·h·L + t), rotated by the token's angle read from `ang`
 * (AngleProgram); pairs past the rotated ones come back as they are.
 */
export const ROTATE_PAIR_WGSL = `
  fn rotatePair(u : vec2<f32>, token : i32, pair : i32) -> vec2<f32> {
    if (pair >= uniforms.angles) {
      return u;
    }
    let a = ang[token * (uniforms.angles + 1) + pair];
    let c = cos(a);
    let s = sin(a);
    return vec2<f32>(u.x * c - u.y * s, u.x * s + u.y * c);
  }
`;
