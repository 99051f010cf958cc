import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTATE_PAIR_WGSL, TILE_ROWS } from './kernel-layout.js';

/**
 * Chunk-local states `[B·H·chunks, P·N]`: Σ_{s in chunk, r} e^{cs_last − cs_s} scale_s v_{s,r} k̃_{s,r}ᵀ,
 * the chunk's own contribution to the state after it. Workgroup (b·h, chunk, 64-row P tile, 64-column N
 * tile) of 256 threads, each accumulating a 4×4 block in vec4 registers. The per-row weight is computed
 * once into shared memory; then two 32-row slabs of v and of weighted k̃ (rotated per pair) are staged by
 * constant-trip loops, coalesced along P and N, one whole vec4 per store, and the outer products run over
 * shared memory only.
 * Inputs: `values` (x), `keys` (B), `ang`, `tok`.
 */
export class ChunkStateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_chunk_state';
  variableNames = ['values', 'keys', 'ang', 'tok'];
  workgroupSize: [number, number, number] = [256, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = `${LAYOUT_UNIFORMS} pTiles : i32, nTiles : i32,`;

  constructor(rows: number, chunks: number, headDim: number, stateDim: number, pTiles: number, nTiles: number) {
    this.outputShape = [rows * chunks, headDim * stateDim];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * chunks * pTiles * nTiles));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  // 32 rows × 64 columns of v (P tile) and of w·k̃ (N tile): vs[i·16 + p/4][p%4] (8 KiB each)
  var<workgroup> vs : array<vec4<f32>, 512>;
  var<workgroup> ks : array<vec4<f32>, 512>;
  // w_i = e^{cs_last − cs_i} scale_i of each row
  var<workgroup> weights : array<f32, ${TILE_ROWS}>;
  ${ROTATE_PAIR_WGSL}

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let nt = wg % uniforms.nTiles;
    let pt = (wg / uniforms.nTiles) % uniforms.pTiles;
    let chunk = (wg / (uniforms.nTiles * uniforms.pTiles)) % uniforms.chunks;
    let bh = wg / (uniforms.nTiles * uniforms.pTiles * uniforms.chunks);
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    let L = uniforms.seqLen;
    let nr = uniforms.angles;
    let t0 = chunk * uniforms.tileTokens;
    let t1 = min(t0 + uniforms.tileTokens, L);
    let rows = (t1 - t0) * R;
    // (token, rank) rows of a chunk are contiguous in x and B: row i of this chunk is row0 + i
    let row0 = (bh * L + t0) * R;
    let tid = i32(localIndex);
    let rg = tid / 16;
    let cg = tid % 16;
    if (tid < ${TILE_ROWS}) {
      var w = 0.0;
      if (tid < rows) {
        let token = bh * L + t0 + tid / R;
        let csEnd = ang[(bh * L + t1 - 1) * (nr + 1) + nr];
        w = exp(csEnd - ang[token * (nr + 1) + nr]) * tok[token * 4 + 2];
      }
      weights[tid] = w;
    }
    workgroupBarrier();

    var a0 = vec4<f32>();
    var a1 = vec4<f32>();
    var a2 = vec4<f32>();
    var a3 = vec4<f32>();
    for (var half = 0; half < 2; half++) {
      let i0 = half * 32;
      // 32 rows × 64 p of v: two vec4s per thread, four consecutive p each (a warp reads two whole rows)
      for (var k = 0; k < 2; k++) {
        let e = k * 256 + tid;
        let i = i0 + e / 16;
        let p = pt * 64 + (e % 16) * 4;
        var vv = vec4<f32>();
        if (i < rows) {
          let at = (row0 + i) * P + p;
          for (var c = 0; c < 4; c++) {
            if (p + c < P) {
              vv[c] = values[at + c];
            }
          }
        }
        vs[e] = vv;
      }
      // 32 rows × 64 n of w·k̃: two vec4s per thread, each two pairs rotated by their own cos/sin
      for (var k = 0; k < 2; k++) {
        let e = k * 256 + tid;
        let i = i0 + e / 16;
        let n = nt * 64 + (e % 16) * 4;
        var kv = vec4<f32>();
        if (i < rows) {
          let token = bh * L + t0 + i / R;
          let at = (row0 + i) * N + n;
          // N is even, so a pair is either whole or past the end
          if (n < N) {
            kv = vec4<f32>(rotatePair(vec2<f32>(keys[at], keys[at + 1]), token, n / 2), kv.zw);
          }
          if (n + 2 < N) {
            kv = vec4<f32>(kv.xy, rotatePair(vec2<f32>(keys[at + 2], keys[at + 3]), token, n / 2 + 1));
          }
          kv *= weights[i];
        }
        ks[e] = kv;
      }
      workgroupBarrier();
      for (var il = 0; il < 32; il++) {
        let v = vs[il * 16 + rg];
        let kv = ks[il * 16 + cg];
        a0 += v.x * kv;
        a1 += v.y * kv;
        a2 += v.z * kv;
        a3 += v.w * kv;
      }
      workgroupBarrier();
    }

    let n0 = nt * 64 + cg * 4;
    let out = (bh * uniforms.chunks + chunk) * P;
    let p0 = pt * 64 + rg * 4;
    for (var w = 0; w < 4; w++) {
      if (n0 + w < N) {
        if (p0 < P) {
          result[(out + p0) * N + n0 + w] = a0[w];
        }
        if (p0 + 1 < P) {
          result[(out + p0 + 1) * N + n0 + w] = a1[w];
        }
        if (p0 + 2 < P) {
          result[(out + p0 + 2) * N + n0 + w] = a2[w];
        }
        if (p0 + 3 < P) {
          result[(out + p0 + 3) * N + n0 + w] = a3[w];
        }
      }
    }
  }
`;
  }
}
