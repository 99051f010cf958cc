import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { UNIFORM_LINE_WGSL } from '../block-mask/lists.wgsl.js';

const WG = 256;

/**
 * SpargeAttention2's block map row by row (papers/sparse.md A.1'): one workgroup per query block
 * (b·H + h)·Nq + i computes sⱼ = scale · q̄ᵢ·k̄ⱼ for the key blocks it may see (all, or with `causal` those
 * with j·bk ≤ min((i + 1)·bq, Lq) − 1), then softmax over them: max and sum reduced across the
 * workgroup, the row kept in the output between the passes (each thread rereads only what it wrote),
 * so Nk is not bounded by workgroup memory. Unseen blocks get exactly 0. Reads the BlockPoolProgram's
 * output `pooled` (q̄ then k̄). Output float32 `[B·H·Nq, Nk]`.
 */
export class BlockScoresProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_scores_${WG}`;
  variableNames = ['pooled'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'lines : i32, heads : i32, d : i32, nq : i32, nk : i32, bq : i32, bk : i32, lq : i32, causal : i32, scale : f32,';

  constructor(rows: number, nk: number) {
    this.outputShape = [rows * nk];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_LINE_WGSL}
  var<workgroup> red : array<f32, ${WG}>;

  fn seen(i : i32, j : i32) -> bool {
    return uniforms.causal == 0 || j * uniforms.bk <= min((i + 1) * uniforms.bq, uniforms.lq) - 1;
  }

  // reduces red[] into red[0] (max or sum); every thread must call it
  fn reduce(tid : i32, isMax : bool) {
    for (var stride = ${WG / 2}; stride > 0; stride = stride / 2) {
      if (tid < stride) {
        let a = red[tid];
        let b = red[tid + stride];
        red[tid] = select(a + b, max(a, b), isMax);
      }
      workgroupBarrier();
    }
  }

  fn main(index : i32) {
    let line = uniformLine();
    if (line >= uniforms.lines) { return; }
    let tid = i32(localIndex);
    let d = uniforms.d;
    let nk = uniforms.nk;
    let i = line % uniforms.nq;
    let qRow = line * d;
    let kRows = (uniforms.heads * uniforms.nq + (line / uniforms.nq) * nk) * d;
    let out = line * nk;
    var m = -3.0e38;
    for (var j = tid; j < nk; j += ${WG}) {
      if (seen(i, j)) {
        var s = 0.0;
        for (var c = 0; c < d; c++) { s += pooled[qRow + c] * pooled[kRows + j * d + c]; }
        s = s * uniforms.scale;
        result[out + j] = s;
        m = max(m, s);
      }
    }
    red[tid] = m;
    workgroupBarrier();
    reduce(tid, true);
    let top = red[0];
    workgroupBarrier();
    var z = 0.0;
    for (var j = tid; j < nk; j += ${WG}) {
      let e = select(0.0, exp(result[out + j] - top), seen(i, j));
      result[out + j] = e;
      z += e;
    }
    red[tid] = z;
    workgroupBarrier();
    reduce(tid, false);
    let total = red[0];
    for (var j = tid; j < nk; j += ${WG}) { result[out + j] = result[out + j] / total; }
  }
`;
  }
}
