import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { statePassLayout } from './state.program.js';
import type { ChunkTile } from './tile.js';

const WORKGROUP = 256;

/**
 * The parallel output pass of the chunked (gated) delta rule (fla `chunk_fwd_o`; papers/linear_rnn.md
 * §3.2–3.3), one workgroup per (b·H + h, chunk, block of `rows` rows):
 * O = s (e^γ ⊙ Q S_n + (Q Kᵀ ⊙ Γ ⊙ M) V'), with S_n and V' from the state pass.
 * Inputs q, k `[B, H, L, Dk]`, g `[B, H, L]` when gated, sv (the state pass); output `[B, H, L, Dv]`.
 */
export class DeltaRuleOutputProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'length : i32, dv : i32, chunks : i32, blocks : i32, perHead : i32, vOffset : i32, scale : f32,';
  private readonly dk: number;
  private readonly tile: ChunkTile;
  private readonly gated: boolean;

  constructor(batch: number, heads: number, length: number, dk: number, dv: number, tile: ChunkTile, gated: boolean) {
    this.dk = dk;
    this.tile = tile;
    this.gated = gated;
    this.variableNames = gated ? ['q', 'k', 'g', 'sv'] : ['q', 'k', 'sv'];
    this.outputShape = [batch, heads, length, dv];
    this.shaderKey = `tessera_delta_output_${gated ? 'gated' : 'plain'}_${dk}_${tile.chunk}_${tile.rows}`;
    const workgroups = batch * heads * Math.ceil(length / tile.chunk) * Math.ceil(tile.chunk / tile.rows);
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, workgroups));
  }

  /** The uniforms after length and Dv: chunks, row blocks per chunk, and the state pass's layout. */
  static layoutUniforms(length: number, dk: number, dv: number, tile: ChunkTile): number[] {
    const chunks = Math.ceil(length / tile.chunk);
    const { perHead, vOffset } = statePassLayout(chunks, tile.chunk, dk, dv);
    return [chunks, Math.ceil(tile.chunk / tile.rows), perHead, vOffset];
  }

  getUserCode(): string {
    const { chunk: c, rows } = this.tile;
    const decay = this.gated ? ' * exp(gs[ri] - gs[t])' : '';
    return `
  ${LINEAR_WORKGROUP_INDEX}
  const TILE_C = ${c};
  const ROWS = ${rows};
  const HEAD_K = ${this.dk};
  const WG = ${WORKGROUP};
  // Kᵀ rows padded by one float: the transposing store would otherwise put a warp on one bank
  const KT_ROW = ${c + 1};
  var<workgroup> kt : array<f32, ${this.dk * (c + 1)}>;
  var<workgroup> mat : array<f32, ${rows * c}>;
  var<workgroup> gs : array<f32, ${c}>;

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let tid = i32(localIndex);
    let len = uniforms.length;
    let dv = uniforms.dv;
    let perChunk = uniforms.blocks;
    let bh = wg / (uniforms.chunks * perChunk);
    let n = (wg / perChunk) % uniforms.chunks;
    let r0 = (wg % perChunk) * ROWS;
    let t0 = n * TILE_C;
    let cl = min(TILE_C, len - t0);
    let row = bh * len + t0;
    for (var e = tid; e < TILE_C * HEAD_K; e += WG) {
      var x = 0.0;
      if (e / HEAD_K < cl) { x = k[row * HEAD_K + e]; }
      kt[(e % HEAD_K) * KT_ROW + e / HEAD_K] = x;
    }
    ${
      this.gated
        ? `if (tid < TILE_C) {
      var cum = 0.0;
      for (var j = 0; j <= tid && j < cl; j++) { cum += g[row + j]; }
      gs[tid] = cum;
    }`
        : ''
    }
    workgroupBarrier();
    // scores of rows r0.., causal with the diagonal
    for (var e = tid; e < ROWS * TILE_C; e += WG) {
      let ri = r0 + e / TILE_C;
      let t = e % TILE_C;
      var p = 0.0;
      if (t <= ri && ri < cl) {
        for (var d = 0; d < HEAD_K; d++) { p += q[(row + ri) * HEAD_K + d] * kt[d * KT_ROW + t]; }
        p = p${decay};
      }
      mat[e] = p;
    }
    workgroupBarrier();
    let stateOff = bh * uniforms.perHead + n * HEAD_K * dv;
    let vOff = bh * uniforms.perHead + uniforms.vOffset + t0 * dv;
    for (var e = tid; e < ROWS * dv; e += WG) {
      let i = e / dv;
      let ri = r0 + i;
      let col = e % dv;
      if (ri < cl) {
        var inter = 0.0;
        for (var d = 0; d < HEAD_K; d++) { inter += q[(row + ri) * HEAD_K + d] * sv[stateOff + d * dv + col]; }
        var intra = 0.0;
        for (var t = 0; t <= ri; t++) { intra += mat[i * TILE_C + t] * sv[vOff + t * dv + col]; }
        result[(row + ri) * dv + col] = uniforms.scale * (${this.gated ? 'exp(gs[ri]) * ' : ''}inter + intra);
      }
    }
  }
`;
  }
}
