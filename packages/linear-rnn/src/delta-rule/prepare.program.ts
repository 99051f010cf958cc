import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { RESET_BELOW_WGSL } from './reset.js';
import { type ChunkTile, CHUNK_PAD } from './tile.js';

const WORKGROUP = 256;
/** Rows (and columns) of the 4×4 register tiles: 16 × 16 threads cover a CHUNK_PAD × CHUNK_PAD block. */
const TILES = CHUNK_PAD / 4;

/** Floats per chunk of the prepare pass's output: Wᵀ, U and, gated, γ' and the reset counts. */
export function prepareBlock(chunk: number, dk: number, dv: number, gated: boolean): number {
  return chunk * (dk + dv + (gated ? 2 : 0));
}

const LANES = ['x', 'y', 'z', 'w'] as const;

/**
 * Column j of the inverse of one unit lower-triangular 16×16 diagonal block of I + A, by forward
 * substitution in registers: T[i][j] = −Σ_{m<i} A[i][m] T[m][j] for i > j (T[j][j] = 1, T[m][j] = 0 above).
 * Every lane of a block walks the same rows in lockstep, so the A loads are broadcasts.
 */
function diagonalBlockSolve(): string {
  const lines: string[] = [];
  for (let m = 0; m < 16; m++) lines.push(`var c${m} = select(0.0, 1.0, j == ${m});`);
  for (let i = 1; i < 16; i++) {
    for (let q = 0; q <= (i - 1) >> 2; q++) lines.push(`let a${i}_${q} = sa[(base + ${i}) * ${TILES} + base / 4 + ${q}];`);
    const terms = Array.from({ length: i }, (_, m) => `a${i}_${m >> 2}.${LANES[m & 3]} * c${m}`).join(' + ');
    lines.push(`c${i} = select(c${i}, -(${terms}), j < ${i});`);
  }
  for (let i = 0; i < 16; i++) lines.push(`tm[(base + ${i}) * ${TILES} + (base + j) / 4][j & 3] = c${i};`);
  return lines.join('\n      ');
}

/**
 * One level of the blocked inverse: for every pair of s×s diagonal blocks already inverted (T11, T22),
 * the block below the diagonal is T21 = −T22 A21 T11 (fla `solve_tril`'s merge). X = A21 T11 is parked
 * in T21's slot, so the level needs no memory of its own. One vec4 of four columns per thread.
 */
function mergeLevel(s: number): string {
  const per = (s * s) / 4;
  const count = (CHUNK_PAD / (2 * s)) * per;
  const dot = (rowVec: string, rowStart: string): string =>
    LANES.map((l, q) => `${rowVec}.${l} * tm[(${rowStart} + 4 * n + ${q}) * ${TILES} + c / 4 + j4]`).join(' + ');
  return `{
      let e = tid;
      let q = e / ${per};
      let i = (e % ${per}) / ${s / 4};
      let j4 = e % ${s / 4};
      let c = q * ${2 * s};
      let r = c + ${s};
      var x = vec4<f32>(0.0);
      if (e < ${count}) {
        for (var n = 0; n < ${s / 4}; n++) {
          let av = sa[(r + i) * ${TILES} + c / 4 + n];
          x += ${dot('av', 'c')};
        }
        tm[(r + i) * ${TILES} + c / 4 + j4] = x;
      }
      workgroupBarrier();
      var y = vec4<f32>(0.0);
      if (e < ${count}) {
        for (var n = 0; n < ${s / 4}; n++) {
          let tv = tm[(r + i) * ${TILES} + r / 4 + n];
          y += ${dot('tv', 'r')};
        }
      }
      workgroupBarrier();
      if (e < ${count}) { tm[(r + i) * ${TILES} + c / 4 + j4] = -y; }
      workgroupBarrier();
    }`;
}

/**
 * The parallel first pass of the chunked (gated) delta rule, one workgroup per (b·H + h, chunk)
 * (fla `chunk_scaled_dot_kkt` → `solve_tril` → `recompute_w_u`; papers/linear_rnn.md §3.2–3.3):
 * A = tril(diag(β) K Kᵀ ⊙ Γ, −1); T = (I + A)⁻¹ blockwise (16×16 diagonal blocks by substitution,
 * then two merge levels); W = T diag(β e^γ) K, U = T diag(β) V.
 * Everything is padded to a 64-token block so that each of the 256 threads owns a 4×4 register tile
 * and every product is a loop over workgroup memory fed by coalesced loads: the Gram matrix over
 * 64-column slabs of Kᵀ, W and U over 64-column slabs of K and V staged with their row scales.
 * Inputs k `[B, H, L, Dk]`, v `[B, H, L, Dv]`, beta (and g) `[B, H, L]`; output `[B·H, N, prepareBlock]`:
 * per chunk Wᵀ `[Dk, C]` (the layout the state pass reads coalesced), then U `[C, Dv]`, then (gated)
 * the chunk-local cumulative log-decay γ' `[C]` and reset count `[C]` (reset.ts: a log-decay below
 * RESET_BELOW, −∞ included, is counted instead of summed, and a decay across a reset is 0), so that the
 * sequential pass needs no prefix sum; rows past L are 0 (γ' and the count there repeat the last token's).
 */
export class DeltaRulePrepareProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'length : i32, dv : i32, chunks : i32, dk : i32, chunk : i32,';
  private readonly gated: boolean;

  /**
   * Dk and C are uniforms, not constants: one shader serves every shape (software Vulkan, which CI
   * runs, takes seconds to compile this one, and a shape-keyed shader would recompile per shape).
   */
  constructor(batchHeads: number, length: number, dk: number, dv: number, tile: ChunkTile, gated: boolean) {
    this.gated = gated;
    this.variableNames = gated ? ['k', 'v', 'beta', 'g'] : ['k', 'v', 'beta'];
    const chunks = Math.ceil(length / tile.chunk);
    this.outputShape = [batchHeads, chunks, prepareBlock(tile.chunk, dk, dv, gated)];
    this.shaderKey = `tessera_delta_prepare_v4_${gated ? 'gated' : 'plain'}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, batchHeads * chunks));
  }

  /** The values of `uniforms`, in order. */
  static uniformValues(length: number, dk: number, dv: number, tile: ChunkTile): number[] {
    return [length, dv, Math.ceil(length / tile.chunk), dk, tile.chunk];
  }

  getUserCode(): string {
    const gated = this.gated;
    // rows i0.. of the 4×4 tile times the 64-column slab in `sa`, over the tokens t ≤ i (T is lower triangular)
    const slabProduct = `
      var y0 = vec4<f32>(0.0);
      var y1 = vec4<f32>(0.0);
      var y2 = vec4<f32>(0.0);
      var y3 = vec4<f32>(0.0);
      for (var t4 = 0; t4 <= ti; t4++) {
        let x0 = sa[(4 * t4) * TILES + tj];
        let x1 = sa[(4 * t4 + 1) * TILES + tj];
        let x2 = sa[(4 * t4 + 2) * TILES + tj];
        let x3 = sa[(4 * t4 + 3) * TILES + tj];
        let r0 = tm[i0 * TILES + t4];
        let r1 = tm[(i0 + 1) * TILES + t4];
        let r2 = tm[(i0 + 2) * TILES + t4];
        let r3 = tm[(i0 + 3) * TILES + t4];
        y0 += r0.x * x0 + r0.y * x1 + r0.z * x2 + r0.w * x3;
        y1 += r1.x * x0 + r1.y * x1 + r1.z * x2 + r1.w * x3;
        y2 += r2.x * x0 + r2.y * x1 + r2.z * x2 + r2.w * x3;
        y3 += r3.x * x0 + r3.y * x1 + r3.z * x2 + r3.w * x3;
      }
      let ys = array<vec4<f32>, 4>(y0, y1, y2, y3);`;
    // stages rows t of a 64-column slab of src [L, width] scaled by scale(t), zero past the chunk and the width
    const stageSlab = (src: string, width: string, c0: string, scale: string) => `
      for (var r = 0; r < ${(CHUNK_PAD * CHUNK_PAD) / WORKGROUP}; r++) {
        let e = tid + r * WG;
        let t = e / PAD;
        let col = ${c0} + e % PAD;
        var x = 0.0;
        if (t < cl && col < ${width}) { x = ${src}[(row + t) * ${width} + col] * ${scale}; }
        sa[e / 4][e & 3] = x;
      }`;
    const gammaAt = (t: string) => `result[out + TILE_C * (HEAD_K + dv) + ${t}]`;
    const countAt = (t: string) => `result[out + TILE_C * (HEAD_K + dv + 1) + ${t}]`;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  const PAD = ${CHUNK_PAD};
  const TILES = ${TILES};
  const WG = ${WORKGROUP};
  // a slab of Kᵀ [d][t] (Gram), then A [i][j], then a scaled slab of K or V [t][c] (W, U); vec4 along the last axis
  var<workgroup> sa : array<vec4<f32>, ${(CHUNK_PAD * CHUNK_PAD) / 4}>;
  // β, γ' and the reset counts per token while the Gram matrix is built, then T [i][j]
  var<workgroup> tm : array<vec4<f32>, ${(CHUNK_PAD * CHUNK_PAD) / 4}>;

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let tid = i32(localIndex);
    let len = uniforms.length;
    let dv = uniforms.dv;
    let HEAD_K = uniforms.dk;
    let TILE_C = uniforms.chunk;
    let bh = wg / uniforms.chunks;
    let t0 = (wg % uniforms.chunks) * TILE_C;
    let cl = min(TILE_C, len - t0);
    let row = bh * len + t0;
    let out = wg * TILE_C * (HEAD_K + dv${gated ? ' + 2' : ''});
    let ti = tid / TILES;
    let tj = tid % TILES;
    let i0 = 4 * ti;
    let j0 = 4 * tj;
    if (tid < PAD) {
      var b = 0.0;
      if (tid < cl) { b = beta[row + tid]; }
      tm[tid / 4][tid & 3] = b;
      ${
        gated
          ? `var cum = 0.0;
      var resets = 0.0;
      for (var j = 0; j <= tid && j < cl; j++) {
        let x = g[row + j];
        if (x < ${RESET_BELOW_WGSL}) { resets += 1.0; } else { cum += x; }
      }
      tm[TILES + tid / 4][tid & 3] = cum;
      tm[2 * TILES + tid / 4][tid & 3] = resets;
      if (tid < TILE_C) {
        ${gammaAt('tid')} = cum;
        ${countAt('tid')} = resets;
      }`
          : ''
      }
    }
    ${gated ? 'storageBarrier();' : ''}
    // the Gram matrix K Kᵀ, a 4×4 tile per thread (the tiles above the diagonal stay 0)
    var g0 = vec4<f32>(0.0);
    var g1 = vec4<f32>(0.0);
    var g2 = vec4<f32>(0.0);
    var g3 = vec4<f32>(0.0);
    for (var d0 = 0; d0 < HEAD_K; d0 += PAD) {
      workgroupBarrier();
      for (var r = 0; r < ${(CHUNK_PAD * CHUNK_PAD) / WORKGROUP}; r++) {
        let e = tid + r * WG;
        let t = e % PAD;
        let dd = e / PAD;
        var x = 0.0;
        if (t < cl && d0 + dd < HEAD_K) { x = k[(row + t) * HEAD_K + d0 + dd]; }
        sa[e / 4][e & 3] = x;
      }
      workgroupBarrier();
      if (tj <= ti) {
        for (var dd = 0; dd < PAD; dd++) {
          let a = sa[dd * TILES + ti];
          let b = sa[dd * TILES + tj];
          g0 += a.x * b;
          g1 += a.y * b;
          g2 += a.z * b;
          g3 += a.w * b;
        }
      }
    }
    workgroupBarrier();
    // A = tril(diag(β) K Kᵀ ⊙ Γ, −1), Γ[i][j] = e^{γ'_i − γ'_j}, or 0 across a reset (the counts differ)
    {
      let bi = tm[ti];
      ${gated ? 'let gi = tm[TILES + ti];\n      let gj = tm[TILES + tj];\n      let ci = tm[2 * TILES + ti];\n      let cj = tm[2 * TILES + tj];' : ''}
      let cols = vec4<i32>(j0, j0 + 1, j0 + 2, j0 + 3);
      let gs = array<vec4<f32>, 4>(g0, g1, g2, g3);
      for (var a = 0; a < 4; a++) {
        let v = gs[a] * bi[a]${gated ? ' * select(vec4<f32>(0.0), exp(vec4<f32>(gi[a]) - gj), vec4<f32>(ci[a]) == cj)' : ''};
        sa[(i0 + a) * TILES + tj] = select(vec4<f32>(0.0), v, cols < vec4<i32>(i0 + a));
      }
    }
    workgroupBarrier();
    for (var r = 0; r < ${(CHUNK_PAD * CHUNK_PAD) / 4 / WORKGROUP}; r++) { tm[tid + r * WG] = vec4<f32>(0.0); }
    workgroupBarrier();
    // T = (I + A)⁻¹: the four 16×16 diagonal blocks, then 16 → 32 → 64
    if (tid < PAD) {
      let base = (tid / 16) * 16;
      let j = tid % 16;
      ${diagonalBlockSolve()}
    }
    workgroupBarrier();
    ${mergeLevel(16)}
    ${mergeLevel(32)}
    // W = T diag(β e^γ) K, written transposed (e^γ is 0 from a reset on)
    for (var d0 = 0; d0 < HEAD_K; d0 += PAD) {
      ${stageSlab('k', 'HEAD_K', 'd0', gated ? `beta[row + t] * select(0.0, exp(${gammaAt('t')}), ${countAt('t')} == 0.0)` : 'beta[row + t]')}
      workgroupBarrier();
      ${slabProduct}
      for (var a = 0; a < 4; a++) {
        for (var b = 0; b < 4; b++) {
          let d = d0 + j0 + b;
          if (i0 + a < TILE_C && d < HEAD_K) { result[out + d * TILE_C + i0 + a] = ys[a][b]; }
        }
      }
      workgroupBarrier();
    }
    // U = T diag(β) V
    for (var c0 = 0; c0 < dv; c0 += PAD) {
      ${stageSlab('v', 'dv', 'c0', 'beta[row + t]')}
      workgroupBarrier();
      ${slabProduct}
      for (var a = 0; a < 4; a++) {
        for (var b = 0; b < 4; b++) {
          let c = c0 + j0 + b;
          if (i0 + a < TILE_C && c < dv) { result[out + HEAD_K * TILE_C + (i0 + a) * dv + c] = ys[a][b]; }
        }
      }
      workgroupBarrier();
    }
  }
`;
  }
}
