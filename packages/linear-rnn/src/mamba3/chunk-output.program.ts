import type { WebGPUOutputsProgram } from '@tessera/tensor-core';
import { FINAL_STATE_WGSL } from './final-state.wgsl.js';
import { type KernelLayout, LAYOUT_UNIFORMS, ROTARY_WGSL, TILE_ROWS } from './kernel-layout.js';

/** Storage buffers `ChunkOutputProgram` binds with the final state: six inputs and four outputs. */
export const CHUNK_FINISH_BUFFERS = 10;

/**
 * The output y `[B, H, L, R·P]`, chunk by chunk:
 *   y_i = Σ_{s ≤ i} (q̃_i·k̃_s) w_{is} v_s + e^{cs_i} Ŝ_chunk q̃_i + D v_i,
 *   w_{is} = e^{cs_i − cs_s} scale_s (s before i's token), γ_s (same token), over the chunk's token×rank rows.
 * Workgroup (b·h, chunk, 64-column P tile) of 256 threads, each owning a 4×4 block (rows 4·rg.., columns
 * 4·cg..) of every 64×64 product, kept in vec4 registers:
 *   1. one pass over N in 16-wide slabs stages q̃ᵀ, k̃ᵀ (each rotated once) and the entering state's slab
 *      Ŝᵀ, and accumulates both G = q̃k̃ᵀ and Z = q̃Ŝᵀ from them;
 *   2. G is masked by w into shared memory (transposed, so a thread reads its four rows as one vec4);
 *   3. two 32-row slabs of v give Y = G v, and the slab holding the thread's own rows gives D v.
 * Every staging loop has a constant trip count (all its loads in flight at once) and stores whole vec4s
 * (no component stores, which a compiler may turn into racy read-modify-writes); the inner products run
 * over shared memory only. Keys and queries turn by θ_c + φ_s (the angle entering the chunk from the state table,
 * the angle since the chunk start from the token table), cs, γ and scale come from the token table.
 * With `finalState`, the workgroup of each (b, h)'s first P tile of its last chunk also writes the final state,
 * angles and rotated keys (`writeFinalState`), so the forward's four results come from one dispatch
 * (`CHUNK_FINISH_BUFFERS` storage buffers); without, y alone (seven), and `FinalStateProgram` writes the rest.
 * Inputs: `values` (x), `keys` (B), `queries` (C), `tokens` (the token table: ChunkLocalProgram's or
 * ChunkScanProgram's output), `states` (the state table from `uniforms.stateBase`: StatePassProgram's or
 * ChunkScanProgram's output), `skip` (D).
 */
export class ChunkOutputProgram implements WebGPUOutputsProgram {
  shaderKey: string;
  outputNames: string[];
  variableNames = ['values', 'keys', 'queries', 'tokens', 'states', 'skip'];
  workgroupSize = 256;
  workgroups: number;
  uniforms = `${LAYOUT_UNIFORMS} pTiles : i32,`;

  constructor(
    k: KernelLayout,
    pTiles: number,
    private readonly finalState: boolean,
  ) {
    this.workgroups = k.rows * k.chunks * pTiles;
    this.outputNames = finalState ? ['yOut', 'ssmOut', 'keyOut', 'angleOut'] : ['yOut'];
    this.shaderKey = `tessera_mamba3_chunk_output_${finalState ? 'final' : 'y'}`;
  }

  getUserCode(): string {
    return `
  ${this.finalState ? FINAL_STATE_WGSL : ROTARY_WGSL}
  // masked weights Gᵀ: gT[s·16 + i/4][i%4] = w_{is} q̃_i·k̃_s (16 KiB)
  var<workgroup> gT : array<vec4<f32>, ${(TILE_ROWS * TILE_ROWS) / 4}>;
  // step 1: q̃ᵀ, k̃ᵀ, Ŝᵀ of one N slab, [16][64] each, at vec4 offsets 0, 256, 512; step 3: 32 rows of v, [32][64] (12 KiB)
  var<workgroup> buf : array<vec4<f32>, 768>;
  var<workgroup> csS : array<f32, ${TILE_ROWS}>;
  var<workgroup> gammaS : array<f32, ${TILE_ROWS}>;
  var<workgroup> scaleS : array<f32, ${TILE_ROWS}>;

  // w_{is} for rows i, s of the chunk (rows past the chunk's end weigh 0)
  fn weight(i : i32, s : i32, rows : i32) -> f32 {
    if (i >= rows || s >= rows) {
      return 0.0;
    }
    let ti = i / uniforms.rank;
    let ts = s / uniforms.rank;
    if (ts < ti) {
      return exp(csS[ti] - csS[ts]) * scaleS[ts];
    }
    if (ts == ti) {
      return gammaS[ts];
    }
    return 0.0;
  }

  fn writeRow(at : i32, p0 : i32, v : vec4<f32>) {
    for (var w = 0; w < 4; w++) {
      if (p0 + w < uniforms.headDim) {
        yOut[at + w] = v[w];
      }
    }
  }

  // q̃ᵀ and k̃ᵀ of the N slab from n0, [16 n][64 rows] at vec4 offsets 0 and 256: each thread rotates one
  // pair (n, n+1) of four consecutive rows, of q (threads < 128) or of k, and stores two whole vec4s; the
  // angle is θ_c (state table row stateRow) + φ_s (token table)
  fn stageRotated(tid : i32, n0 : i32, rows : i32, row0 : i32, token0 : i32, stateRow : i32) {
    let u = tid % 128;
    let i = (u / 8) * 4;
    let nl = 2 * (u % 8);
    let n = n0 + nl;
    let N = uniforms.stateDim;
    let nr = uniforms.angles;
    let pair = n / 2;
    let rotated = pair < nr;
    var start = 0.0;
    if (rotated && n < N) {
      start = states[stateRow + uniforms.headDim * N + pair];
    }
    var first = vec4<f32>();
    var second = vec4<f32>();
    for (var c = 0; c < 4; c++) {
      if (i + c < rows && n < N) {
        let at = (row0 + i + c) * N + n;
        var u2 : vec2<f32>;
        if (tid < 128) {
          u2 = vec2<f32>(queries[at], queries[at + 1]);
        } else {
          u2 = vec2<f32>(keys[at], keys[at + 1]);
        }
        if (rotated) {
          let token = token0 + (i + c) / uniforms.rank;
          u2 = rotateBy(u2, wrapAngle(start + tokens[token * (nr + 3) + pair]));
        }
        first[c] = u2.x;
        second[c] = u2.y;
      }
    }
    let base = (tid / 128) * 256 + i / 4;
    buf[base + nl * 16] = first;
    buf[base + (nl + 1) * 16] = second;
  }

  // Ŝᵀ of the N slab from n0 for the P tile from p0, [16 n][64 p] at vec4 offset 512: one vec4 of four
  // consecutive p per thread
  fn stageState(tid : i32, n0 : i32, p0 : i32, stateRow : i32) {
    let p = p0 + (tid / 16) * 4;
    let nl = tid % 16;
    let N = uniforms.stateDim;
    var sv = vec4<f32>();
    if (n0 + nl < N) {
      for (var c = 0; c < 4; c++) {
        if (p + c < uniforms.headDim) {
          sv[c] = states[stateRow + (p + c) * N + n0 + nl];
        }
      }
    }
    buf[512 + nl * 16 + tid / 16] = sv;
  }

  fn main(wg : i32, tid : i32) {
    if (wg >= uniforms.rows * uniforms.chunks * uniforms.pTiles) {
      return;
    }
    let pt = wg % uniforms.pTiles;
    let chunk = (wg / uniforms.pTiles) % uniforms.chunks;
    let bh = wg / (uniforms.pTiles * uniforms.chunks);
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    let L = uniforms.seqLen;
    let nr = uniforms.angles;
    let t0 = chunk * uniforms.tileTokens;
    let count = min(uniforms.tileTokens, L - t0);
    let rows = count * R;
    // (token, rank) rows of a chunk are contiguous in x, B, C and y: row i of this chunk is row0 + i
    let row0 = (bh * L + t0) * R;
    let rg = tid / 16;
    let cg = tid % 16;
    let p0 = pt * 64 + cg * 4;
    ${
      this.finalState
        ? `if (pt == 0 && chunk == uniforms.chunks - 1) {
      writeFinalState(bh, tid, 256);
    }`
        : ''
    }
    if (tid < ${TILE_ROWS}) {
      var cs = 0.0;
      var g = 0.0;
      var sc = 0.0;
      if (tid < count) {
        let at = (bh * L + t0 + tid) * (nr + 3) + nr;
        cs = tokens[at];
        g = tokens[at + 1];
        sc = tokens[at + 2];
      }
      csS[tid] = cs;
      gammaS[tid] = g;
      scaleS[tid] = sc;
    }

    // 1. G = q̃k̃ᵀ (rows 4rg.., columns s = 4cg..) and Z = q̃Ŝᵀ (columns p = 4cg..), one pass over N
    var g0 = vec4<f32>();
    var g1 = vec4<f32>();
    var g2 = vec4<f32>();
    var g3 = vec4<f32>();
    var z0 = vec4<f32>();
    var z1 = vec4<f32>();
    var z2 = vec4<f32>();
    var z3 = vec4<f32>();
    let stateRow = uniforms.stateBase + (bh * (uniforms.chunks + 1) + chunk) * (P * N + nr);
    for (var n0 = 0; n0 < N; n0 += 16) {
      stageRotated(tid, n0, rows, row0, bh * L + t0, stateRow);
      stageState(tid, n0, pt * 64, stateRow);
      workgroupBarrier();
      for (var nl = 0; nl < 16; nl++) {
        let q = buf[nl * 16 + rg];
        let kv = buf[256 + nl * 16 + cg];
        let sv = buf[512 + nl * 16 + cg];
        g0 += q.x * kv;
        g1 += q.y * kv;
        g2 += q.z * kv;
        g3 += q.w * kv;
        z0 += q.x * sv;
        z1 += q.y * sv;
        z2 += q.z * sv;
        z3 += q.w * sv;
      }
      workgroupBarrier();
    }

    // 2. mask G by the decay weights (csS etc. were published by the barriers above)
    let i0 = rg * 4;
    for (var w = 0; w < 4; w++) {
      let s = cg * 4 + w;
      gT[s * 16 + rg] = vec4<f32>(
        g0[w] * weight(i0, s, rows),
        g1[w] * weight(i0 + 1, s, rows),
        g2[w] * weight(i0 + 2, s, rows),
        g3[w] * weight(i0 + 3, s, rows),
      );
    }
    workgroupBarrier();

    // 3. Y = G v over two 32-row slabs of v; the slab holding rows 4rg.. also gives D v
    var y0 = vec4<f32>();
    var y1 = vec4<f32>();
    var y2 = vec4<f32>();
    var y3 = vec4<f32>();
    var v0 = vec4<f32>();
    var v1 = vec4<f32>();
    var v2 = vec4<f32>();
    var v3 = vec4<f32>();
    for (var half = 0; half < 2; half++) {
      let s0 = half * 32;
      // 32 rows × 64 p of v: two vec4s per thread, four consecutive p each
      for (var k = 0; k < 2; k++) {
        let e = k * 256 + tid;
        let s = s0 + e / 16;
        let p = pt * 64 + (e % 16) * 4;
        var vv = vec4<f32>();
        if (s < rows) {
          for (var c = 0; c < 4; c++) {
            if (p + c < P) {
              vv[c] = values[(row0 + s) * P + p + c];
            }
          }
        }
        buf[e] = vv;
      }
      workgroupBarrier();
      for (var sl = 0; sl < 32; sl++) {
        let g = gT[(s0 + sl) * 16 + rg];
        let v = buf[sl * 16 + cg];
        y0 += g.x * v;
        y1 += g.y * v;
        y2 += g.z * v;
        y3 += g.w * v;
      }
      if (i0 / 32 == half) {
        let il = i0 - s0;
        v0 = buf[il * 16 + cg];
        v1 = buf[(il + 1) * 16 + cg];
        v2 = buf[(il + 2) * 16 + cg];
        v3 = buf[(il + 3) * 16 + cg];
      }
      workgroupBarrier();
    }

    let d = skip[bh % uniforms.heads];
    // y of row i of the chunk is row row0 + i of y
    let outRow = row0 * P;
    if (i0 < rows) {
      writeRow(outRow + i0 * P + p0, p0, y0 + exp(csS[i0 / R]) * z0 + d * v0);
    }
    if (i0 + 1 < rows) {
      writeRow(outRow + (i0 + 1) * P + p0, p0, y1 + exp(csS[(i0 + 1) / R]) * z1 + d * v1);
    }
    if (i0 + 2 < rows) {
      writeRow(outRow + (i0 + 2) * P + p0, p0, y2 + exp(csS[(i0 + 2) / R]) * z2 + d * v2);
    }
    if (i0 + 3 < rows) {
      writeRow(outRow + (i0 + 3) * P + p0, p0, y3 + exp(csS[(i0 + 3) / R]) * z3 + d * v3);
    }
  }
`;
  }
}
