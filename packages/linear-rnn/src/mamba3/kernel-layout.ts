import { type ProgramUniform, scalarUniforms } from '@tessera/tensor-core';

/**
 * Rows (token × rank pairs) of one WGSL chunk tile. The kernels pick their own chunk of ⌊64/R⌋ tokens,
 * as mamba_ssm recommends (64 for SISO, 64/R for MIMO); `chunkSize` shapes only the tfjs chunked form,
 * and the result does not depend on either.
 */
export const TILE_ROWS = 64;

/**
 * The longest input, in chunks, that the forward from a zero state runs as one sequential scan program
 * (ChunkScanProgram: a workgroup per (b, h, 64×64 state tile) walks every chunk) instead of two programs
 * (ChunkLocalProgram in parallel over chunks, then StatePassProgram over chunks). Short calls are bound by
 * their dispatch count, so one program fewer is worth a short serial walk, but not a long one. Timed on the
 * H100 (bench/mamba3-passes.bench.ts's 'tables' row, 2026-12-07): the walk costs ~0.011 ms a chunk (0.17 ms at
 * 16 chunks) against ~0.065–0.1 ms for the two programs once a program's host cost fell to ~13 µs (before the
 * bind-group cache the walk won at 16 chunks, 0.18 against 0.24 ms), so it pays up to ~6 chunks; 0 turns it off.
 */
export const SCAN_MAX_CHUNKS = 4;

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
  };
}

/**
 * Floats per token of the token table the chunk programs share: the angle since the chunk start for each
 * of the Nr pairs, then the chunk-local Σ AΔ (cs), γ = λΔ and scale = γ + (1−λ_{t+1})Δ_{t+1} (the look-ahead
 * of papers/linear_rnn.md 1.6, 0 after the last token).
 */
function tokenWidth(k: KernelLayout): number {
  return k.angles + 3;
}

/** Floats of the token table, `[B·H·L, Nr + 3]`: the first region of ChunkLocal's and ChunkScan's outputs. */
export function tokenTable(k: KernelLayout): number {
  return k.rows * k.seqLen * tokenWidth(k);
}

/** Floats per row of the state table: a state `[P·N]` and its angles `[Nr]`. */
function stateWidth(k: KernelLayout): number {
  return k.headDim * k.stateDim + k.angles;
}

/**
 * Floats of the state table, `[B·H·(chunks + 1), P·N + Nr]`: row (b·h, c) holds the state and the angles
 * entering chunk c, row (b·h, chunks) those after the last token.
 */
export function stateTable(k: KernelLayout): number {
  return k.rows * (k.chunks + 1) * stateWidth(k);
}

/** The uniform fields every Mamba-3 program declares, in the order of `layoutUniforms`. */
export const LAYOUT_UNIFORMS =
  'rows : i32, heads : i32, seqLen : i32, rank : i32, headDim : i32, stateDim : i32, angles : i32, tileTokens : i32, chunks : i32, stateBase : i32,';

/** The layout's uniforms; `stateBase` is where the state table starts in the buffer that holds it (0 where it is alone). */
export function layoutUniforms(k: KernelLayout, stateBase = 0): ProgramUniform[] {
  return scalarUniforms('int32', [k.rows, k.heads, k.seqLen, k.rank, k.headDim, k.stateDim, k.angles, k.tileTokens, k.chunks, stateBase]);
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
  fn rotateBy(u : vec2<f32>, angle : f32) -> vec2<f32> {
    let c = cos(angle);
    let s = sin(angle);
    return vec2<f32>(u.x * c - u.y * s, u.x * s + u.y * c);
  }
`;
