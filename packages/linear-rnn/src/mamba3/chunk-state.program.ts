import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL, rotatedLoadWGSL, TILE_ROWS } from './kernel-layout.js';

/**
 * Chunk-local states `[B·H·chunks, P·N]`: Σ_{s in chunk, r} e^{cs_last − cs_s} scale_s v_{s,r} k̃_{s,r}ᵀ,
 * the chunk's own contribution to the state after it. Workgroup (b·h, chunk, 64-row P tile, 64-column N
 * tile); each of 256 threads accumulates a 4×4 block over 16-row slabs staged in shared memory.
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
  ${ROTARY_WGSL}
  ${rotatedLoadWGSL('keys')}
  var<workgroup> vs : array<f32, 1024>;
  var<workgroup> ks : array<f32, 1024>;
  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let nt = wg % uniforms.nTiles;
    let pt = (wg / uniforms.nTiles) % uniforms.pTiles;
    let chunk = (wg / (uniforms.nTiles * uniforms.pTiles)) % uniforms.chunks;
    let bh = wg / (uniforms.nTiles * uniforms.pTiles * uniforms.chunks);
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    let t0 = chunk * uniforms.tileTokens;
    let t1 = min(t0 + uniforms.tileTokens, uniforms.seqLen);
    let rows = (t1 - t0) * R;
    let csEnd = ang[(bh * uniforms.seqLen + t1 - 1) * (uniforms.angles + 1) + uniforms.angles];
    let tid = i32(localIndex);
    let rg = tid / 16;
    let cg = tid % 16;
    var acc : array<f32, 16>;
    for (var i0 = 0; i0 < ${TILE_ROWS}; i0 += 16) {
      for (var e = tid; e < 1024; e += 256) {
        let i = i0 + e / 64;
        let col = e % 64;
        var vv = 0.0;
        var kv = 0.0;
        if (i < rows) {
          let row = bh * uniforms.seqLen + t0 + i / R;
          let r = i % R;
          let p = pt * 64 + col;
          if (p < P) {
            vv = values[row * R * P + r * P + p];
          }
          let n = nt * 64 + col;
          if (n < N) {
            let w = exp(csEnd - ang[row * (uniforms.angles + 1) + uniforms.angles]) * tok[row * 4 + 2];
            kv = rotated_keys(row, r, n) * w;
          }
        }
        vs[e] = vv;
        ks[e] = kv;
      }
      workgroupBarrier();
      for (var il = 0; il < 16; il++) {
        for (var u = 0; u < 4; u++) {
          let a = vs[il * 64 + rg * 4 + u];
          for (var w = 0; w < 4; w++) {
            acc[u * 4 + w] += a * ks[il * 64 + cg * 4 + w];
          }
        }
      }
      workgroupBarrier();
    }
    for (var u = 0; u < 4; u++) {
      let p = pt * 64 + rg * 4 + u;
      for (var w = 0; w < 4; w++) {
        let n = nt * 64 + cg * 4 + w;
        if (p < P && n < N) {
          result[((bh * uniforms.chunks + chunk) * P + p) * N + n] = acc[u * 4 + w];
        }
      }
    }
  }
`;
  }
}
