import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { type ChunkTile, prepareSlab } from './tile.js';

const WORKGROUP = 128;

/** Floats per chunk of the prepare pass's output: Wᵀ, U and, gated, γ. */
export function prepareBlock(chunk: number, dk: number, dv: number, gated: boolean): number {
  return chunk * (dk + dv + (gated ? 1 : 0));
}

/**
 * The parallel first pass of the chunked (gated) delta rule, one workgroup per (b·H + h, chunk)
 * (fla `chunk_scaled_dot_kkt` → `solve_tril` → `recompute_w_u`; papers/linear_rnn.md §3.2–3.3):
 * A = tril(diag(β) K Kᵀ ⊙ Γ, −1); T = (I + A)⁻¹ by forward substitution, thread j building column j
 * of T into the upper triangle of A's block (so no thread overwrites what another reads, and no
 * barrier is needed); W = T diag(β e^γ) K, U = T diag(β) V.
 * Inputs k `[B, H, L, Dk]`, v `[B, H, L, Dv]`, beta (and g) `[B, H, L]`; output `[B·H, N, prepareBlock]`:
 * per chunk Wᵀ `[Dk, C]` (the layout the state pass reads coalesced), then U `[C, Dv]`, then (gated)
 * the chunk-local cumulative log-decay γ `[C]`, so that the sequential pass needs no prefix sum; rows
 * past L are 0 (γ there repeats the last token's).
 */
export class DeltaRulePrepareProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'length : i32, dv : i32, chunks : i32,';
  private readonly dk: number;
  private readonly chunk: number;
  private readonly gated: boolean;

  constructor(batchHeads: number, length: number, dk: number, dv: number, tile: ChunkTile, gated: boolean) {
    this.dk = dk;
    this.chunk = tile.chunk;
    this.gated = gated;
    this.variableNames = gated ? ['k', 'v', 'beta', 'g'] : ['k', 'v', 'beta'];
    const chunks = Math.ceil(length / tile.chunk);
    this.outputShape = [batchHeads, chunks, prepareBlock(tile.chunk, dk, dv, gated)];
    this.shaderKey = `tessera_delta_prepare_${gated ? 'gated' : 'plain'}_${dk}_${tile.chunk}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, batchHeads * chunks));
  }

  getUserCode(): string {
    const c = this.chunk;
    const decay = this.gated ? ' * exp(gs[i] - gs[j])' : '';
    const kt = prepareSlab(this.dk);
    return `
  ${LINEAR_WORKGROUP_INDEX}
  const TILE_C = ${c};
  const HEAD_K = ${this.dk};
  const WG = ${WORKGROUP};
  // rows unpadded: in the substitution thread j reads row j + 1 + r at column j + 1 + s, a stride of
  // C + 1 floats across threads, so no two threads of a warp share a bank
  const MAT_ROW = ${c};
  const KT = ${kt};
  var<workgroup> mat : array<f32, ${c * c}>;
  // a slab of KT rows of Kᵀ: the C×C Gram matrix reads every row of K C times
  var<workgroup> kt : array<f32, ${kt * c}>;
  var<workgroup> bs : array<f32, ${c}>;
  var<workgroup> gs : array<f32, ${c}>;
  // the coefficients of W's rows: β, or β e^γ gated
  var<workgroup> bw : array<f32, ${c}>;

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let tid = i32(localIndex);
    let len = uniforms.length;
    let dv = uniforms.dv;
    let bh = wg / uniforms.chunks;
    let t0 = (wg % uniforms.chunks) * TILE_C;
    let cl = min(TILE_C, len - t0);
    let row = bh * len + t0;
    let out = wg * TILE_C * (HEAD_K + dv${this.gated ? ' + 1' : ''});
    if (tid < TILE_C) {
      var b = 0.0;
      if (tid < cl) { b = beta[row + tid]; }
      bs[tid] = b;
      ${
        this.gated
          ? `var cum = 0.0;
      for (var j = 0; j <= tid && j < cl; j++) { cum += g[row + j]; }
      gs[tid] = cum;
      bw[tid] = b * exp(cum);
      result[out + TILE_C * (HEAD_K + dv) + tid] = cum;`
          : 'bw[tid] = b;'
      }
    }
    workgroupBarrier();
    // A = tril(diag(β) K Kᵀ ⊙ Γ, −1), accumulated over slabs of Kᵀ
    for (var d0 = 0; d0 < HEAD_K; d0 += KT) {
      for (var e = tid; e < KT * TILE_C; e += WG) {
        let dd = d0 + e / TILE_C;
        let t = e % TILE_C;
        var x = 0.0;
        if (t < cl && dd < HEAD_K) { x = k[(row + t) * HEAD_K + dd]; }
        kt[e] = x;
      }
      workgroupBarrier();
      for (var e = tid; e < TILE_C * TILE_C; e += WG) {
        let i = e / TILE_C;
        let j = e % TILE_C;
        if (j < i) {
          var dot = 0.0;
          if (d0 > 0) { dot = mat[e]; }
          for (var dd = 0; dd < KT; dd++) { dot += kt[dd * TILE_C + i] * kt[dd * TILE_C + j]; }
          if (d0 + KT >= HEAD_K) { dot = bs[i] * dot${decay}; }
          mat[e] = dot;
        }
      }
      workgroupBarrier();
    }
    // T[i][j] = −(A[i][j] + Σ_{j<m<i} A[i][m] T[m][j]), stored at mat[j][i]
    if (tid < TILE_C) {
      let j = tid;
      for (var i = j + 1; i < TILE_C; i++) {
        var acc = mat[i * MAT_ROW + j];
        for (var m = j + 1; m < i; m++) { acc += mat[i * MAT_ROW + m] * mat[j * MAT_ROW + m]; }
        mat[j * MAT_ROW + i] = -acc;
      }
    }
    workgroupBarrier();
    // Wᵀ[d][i] = Σ_{t≤i} T[i][t] β_t e^{γ_t} k[t][d]; consecutive threads take consecutive i
    for (var e = tid; e < HEAD_K * TILE_C; e += WG) {
      let d = e / TILE_C;
      let i = e % TILE_C;
      var acc = 0.0;
      if (i < cl) {
        acc = bw[i] * k[(row + i) * HEAD_K + d];
        for (var t = 0; t < i; t++) { acc += mat[t * MAT_ROW + i] * bw[t] * k[(row + t) * HEAD_K + d]; }
      }
      result[out + e] = acc;
    }
    // U[i][c] = Σ_{t≤i} T[i][t] β_t v[t][c]
    for (var e = tid; e < TILE_C * dv; e += WG) {
      let i = e / dv;
      let col = e % dv;
      var acc = 0.0;
      if (i < cl) {
        acc = bs[i] * v[(row + i) * dv + col];
        for (var t = 0; t < i; t++) { acc += mat[t * MAT_ROW + i] * bs[t] * v[(row + t) * dv + col]; }
      }
      result[out + HEAD_K * TILE_C + e] = acc;
    }
  }
`;
  }
}
