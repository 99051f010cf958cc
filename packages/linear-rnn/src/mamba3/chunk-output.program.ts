import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL, rotatedLoadWGSL, TILE_ROWS } from './kernel-layout.js';

/**
 * The outputs of one chunk, written into the packed result `[B·H, width]` (packing.ts):
 *   y_i = Σ_{s ≤ i} (q̃_i·k̃_s) w_{is} v_s + e^{cs_i} Ŝ_chunk q̃_i + D v_i,
 *   w_{is} = e^{cs_i − cs_s} scale_s (s before i's token), γ_s (same token), over the chunk's token×rank rows.
 * Workgroup (b·h, chunk, 64-column P tile) of 256 threads, each owning a 4×4 output block: the
 * (rows × rows) weight matrix is built in shared memory from 16-wide slabs of q̃, k̃, then multiplied by
 * 16-row slabs of v; the inter-chunk term takes 16-wide slabs of q̃ and of the entering state. The last
 * chunk's workgroup also writes the final state, the rotated last keys and the last angle.
 * Inputs: `values` (x), `keys` (B), `queries` (C), `ang`, `tok`, `states` (StatePassProgram), `skip` (D).
 */
export class ChunkOutputProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_chunk_output';
  variableNames = ['values', 'keys', 'queries', 'ang', 'tok', 'states', 'skip'];
  workgroupSize: [number, number, number] = [256, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = `${LAYOUT_UNIFORMS} pTiles : i32,`;

  constructor(rows: number, width: number, chunks: number, pTiles: number) {
    this.outputShape = [rows, width];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * chunks * pTiles));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ROTARY_WGSL}
  ${rotatedLoadWGSL('keys')}
  ${rotatedLoadWGSL('queries')}
  var<workgroup> gs : array<f32, ${TILE_ROWS * TILE_ROWS}>;
  var<workgroup> qs : array<f32, 1024>;
  var<workgroup> ks : array<f32, 1024>;
  var<workgroup> csS : array<f32, ${TILE_ROWS}>;
  var<workgroup> gammaS : array<f32, ${TILE_ROWS}>;
  var<workgroup> scaleS : array<f32, ${TILE_ROWS}>;
  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let pt = wg % uniforms.pTiles;
    let chunk = (wg / uniforms.pTiles) % uniforms.chunks;
    let bh = wg / (uniforms.pTiles * uniforms.chunks);
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    let L = uniforms.seqLen;
    let t0 = chunk * uniforms.tileTokens;
    let tokens = min(uniforms.tileTokens, L - t0);
    let rows = tokens * R;
    let tid = i32(localIndex);
    let rg = tid / 16;
    let cg = tid % 16;
    if (tid < ${TILE_ROWS}) {
      var cs = 0.0;
      var g = 0.0;
      var sc = 0.0;
      if (tid < tokens) {
        let row = bh * L + t0 + tid;
        cs = ang[row * (uniforms.angles + 1) + uniforms.angles];
        g = tok[row * 4 + 1];
        sc = tok[row * 4 + 2];
      }
      csS[tid] = cs;
      gammaS[tid] = g;
      scaleS[tid] = sc;
    }

    // q̃ k̃ᵀ over the chunk's rows
    var acc : array<f32, 16>;
    for (var n0 = 0; n0 < N; n0 += 16) {
      for (var e = tid; e < 1024; e += 256) {
        let i = e / 16;
        let n = n0 + e % 16;
        var qv = 0.0;
        var kv = 0.0;
        if (i < rows && n < N) {
          let row = bh * L + t0 + i / R;
          qv = rotated_queries(row, i % R, n);
          kv = rotated_keys(row, i % R, n);
        }
        qs[e] = qv;
        ks[e] = kv;
      }
      workgroupBarrier();
      for (var nl = 0; nl < 16; nl++) {
        for (var u = 0; u < 4; u++) {
          let a = qs[(rg * 4 + u) * 16 + nl];
          for (var w = 0; w < 4; w++) {
            acc[u * 4 + w] += a * ks[(cg * 4 + w) * 16 + nl];
          }
        }
      }
      workgroupBarrier();
    }
    for (var u = 0; u < 4; u++) {
      let i = rg * 4 + u;
      for (var w = 0; w < 4; w++) {
        let s = cg * 4 + w;
        var coef = 0.0;
        if (i < rows && s < rows) {
          let ti = i / R;
          let ts = s / R;
          if (ts < ti) {
            coef = exp(csS[ti] - csS[ts]) * scaleS[ts];
          } else if (ts == ti) {
            coef = gammaS[ts];
          }
        }
        gs[i * ${TILE_ROWS} + s] = acc[u * 4 + w] * coef;
      }
    }
    workgroupBarrier();

    // intra-chunk: weights × v
    var y : array<f32, 16>;
    for (var s0 = 0; s0 < ${TILE_ROWS}; s0 += 16) {
      for (var e = tid; e < 1024; e += 256) {
        let s = s0 + e / 64;
        let p = pt * 64 + e % 64;
        var vv = 0.0;
        if (s < rows && p < P) {
          vv = values[(bh * L + t0 + s / R) * R * P + (s % R) * P + p];
        }
        ks[e] = vv;
      }
      workgroupBarrier();
      for (var sl = 0; sl < 16; sl++) {
        for (var u = 0; u < 4; u++) {
          let g = gs[(rg * 4 + u) * ${TILE_ROWS} + s0 + sl];
          for (var w = 0; w < 4; w++) {
            y[u * 4 + w] += g * ks[sl * 64 + cg * 4 + w];
          }
        }
      }
      workgroupBarrier();
    }

    // inter-chunk: q̃ against the state entering the chunk
    var z : array<f32, 16>;
    let stateBase = (bh * (uniforms.chunks + 1) + chunk) * P * N;
    for (var n0 = 0; n0 < N; n0 += 16) {
      for (var e = tid; e < 1024; e += 256) {
        let i = e / 16;
        let n = n0 + e % 16;
        var qv = 0.0;
        if (i < rows && n < N) {
          qv = rotated_queries(bh * L + t0 + i / R, i % R, n);
        }
        qs[e] = qv;
        let nl = e % 16;
        let p = pt * 64 + e / 16;
        var sv = 0.0;
        if (p < P && n0 + nl < N) {
          sv = states[stateBase + p * N + n0 + nl];
        }
        ks[nl * 64 + e / 16] = sv;
      }
      workgroupBarrier();
      for (var nl = 0; nl < 16; nl++) {
        for (var u = 0; u < 4; u++) {
          let a = qs[(rg * 4 + u) * 16 + nl];
          for (var w = 0; w < 4; w++) {
            z[u * 4 + w] += a * ks[nl * 64 + cg * 4 + w];
          }
        }
      }
      workgroupBarrier();
    }

    let h = bh % uniforms.heads;
    let outBase = bh * uniforms.width;
    for (var u = 0; u < 4; u++) {
      let i = rg * 4 + u;
      if (i < rows) {
        let ti = i / R;
        let r = i % R;
        let decay = exp(csS[ti]);
        let token = t0 + ti;
        for (var w = 0; w < 4; w++) {
          let p = pt * 64 + cg * 4 + w;
          if (p < P) {
            let v = values[(bh * L + token) * R * P + r * P + p];
            result[outBase + token * R * P + r * P + p] = y[u * 4 + w] + decay * z[u * 4 + w] + skip[h] * v;
          }
        }
      }
    }

    if (chunk == uniforms.chunks - 1 && pt == 0) {
      let tail = outBase + L * R * P;
      let finalState = (bh * (uniforms.chunks + 1) + uniforms.chunks) * P * N;
      for (var e = tid; e < P * N; e += 256) {
        result[tail + e] = states[finalState + e];
      }
      let lastRow = bh * L + L - 1;
      for (var e = tid; e < R * N; e += 256) {
        result[tail + P * N + e] = rotated_keys(lastRow, e / N, e % N);
      }
      for (var e = tid; e < uniforms.angles; e += 256) {
        result[tail + P * N + R * N + e] = ang[lastRow * (uniforms.angles + 1) + e];
      }
    }
  }
`;
  }
}
