import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { UNIFORM_LINE_WGSL } from '../block-mask/lists.wgsl.js';
import { SELECT_MAX_COLS } from './select.program.js';

const WG = 256;
/** Key blocks a thread holds (in registers, the loops over them unrolled): Nk ≤ 4096 = 16 · 256. */
const PER_THREAD = SELECT_MAX_COLS / WG;
/** Dimensions whose loads (q̄ and k̄ᵀ) a thread issues before it multiplies any. */
const BATCH = 8;

/**
 * SpargeAttention2's block map row by row (papers/sparse.md A.1'): one workgroup per query block
 * (b·H + h)·Nq + i (1024 at L = 16384) computes sⱼ = scale · q̄ᵢ·k̄ⱼ for the key blocks it may see (all,
 * or with `causal` those with j·bk ≤ min((i + 1)·bq, Lq) − 1), then softmax over them. Thread t takes key
 * blocks t, t + 256, … (≤ 16, held in registers); k̄ comes transposed (`[B·H, D, Nk]`, BlockPoolProgram),
 * so a warp's loads of one dimension are consecutive floats, and q̄ᵢ's are the same address for every
 * thread (a broadcast); a thread issues 8 dimensions' loads before their multiply-adds, so a dot product
 * of D = 64 waits out 8 memory latencies, not 64. The row's max and sum are tree-reduced across the
 * workgroup (8 steps each); the row is written once, coalesced. Unseen blocks get exactly 0. Serial
 * steps per thread: ⌈Nk/256⌉ · D/8 load batches, two reductions. Output float32 `[B·H·Nq, Nk]`.
 */
export class BlockScoresProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_scores_${WG}_${BATCH}`;
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
    return j < uniforms.nk && (uniforms.causal == 0 || j * uniforms.bk <= min((i + 1) * uniforms.bq, uniforms.lq) - 1);
  }

  // reduces red[] into red[0] (max or sum) and returns it; every thread must call it
  fn reduce(tid : i32, x : f32, isMax : bool) -> f32 {
    red[tid] = x;
    workgroupBarrier();
    for (var stride = ${WG / 2}; stride > 0; stride = stride / 2) {
      if (tid < stride) {
        let a = red[tid];
        let b = red[tid + stride];
        red[tid] = select(a + b, max(a, b), isMax);
      }
      workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
  }

  fn blockDot(qRow : i32, kCols : i32, j : i32) -> f32 {
    let d = uniforms.d;
    let nk = uniforms.nk;
    var s = 0.0;
    for (var c0 = 0; c0 < d; c0 += ${BATCH}) {
      var a : array<f32, ${BATCH}>;
      var b : array<f32, ${BATCH}>;
      for (var u = 0; u < ${BATCH}; u++) {
        let c = min(c0 + u, d - 1);
        a[u] = pooled[qRow + c];
        b[u] = pooled[kCols + c * nk + j];
      }
      for (var u = 0; u < ${BATCH}; u++) { s += select(0.0, a[u] * b[u], c0 + u < d); }
    }
    return s;
  }

  fn main(index : i32) {
    let line = uniformLine();
    if (line >= uniforms.lines) { return; }
    let tid = i32(localIndex);
    let d = uniforms.d;
    let nk = uniforms.nk;
    let i = line % uniforms.nq;
    let qRow = line * d;
    let kCols = (uniforms.heads * uniforms.nq + (line / uniforms.nq) * nk) * d;
    var s : array<f32, ${PER_THREAD}>;
    var m = -3.0e38;
    for (var u = 0; u < ${PER_THREAD}; u++) {
      let j = tid + u * ${WG};
      if (seen(i, j)) {
        s[u] = blockDot(qRow, kCols, j) * uniforms.scale;
        m = max(m, s[u]);
      }
    }
    let top = reduce(tid, m, true);
    var z = 0.0;
    for (var u = 0; u < ${PER_THREAD}; u++) {
      let j = tid + u * ${WG};
      s[u] = select(0.0, exp(s[u] - top), seen(i, j));
      z += s[u];
    }
    let total = reduce(tid, z, false);
    for (var u = 0; u < ${PER_THREAD}; u++) {
      let j = tid + u * ${WG};
      if (j < nk) { result[line * nk + j] = s[u] / total; }
    }
  }
`;
  }
}
