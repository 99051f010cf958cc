import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS } from './kernel-layout.js';

/** Chunks whose loads one thread issues together. */
const BATCH = 16;

/**
 * The state entering every chunk and the final one, `[B·H·(chunks+1), P·N]`: a sequential scan over
 * chunks, one thread per (b·h, p, n). It starts from Ŝ = S_0 + (1−λ_0)Δ_0 Σ_r v_{−1,r} k̃_{−1,r}ᵀ (the
 * cached token's look-ahead term; papers/linear_rnn.md 1.6), then Ŝ ← e^{Σ_chunk AΔ} Ŝ + chunk state.
 * Inputs: `local` (ChunkStateProgram), `ang`, `tok`, `ssm`, `kPrev`, `vPrev`.
 */
export class StatePassProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_state_pass';
  variableNames = ['local', 'ang', 'tok', 'ssm', 'kPrev', 'vPrev'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, chunks: number, headDim: number, stateDim: number) {
    this.outputShape = [rows * (chunks + 1), headDim * stateDim];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      Math.ceil((rows * headDim * stateDim) / 64),
    ));
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    let pn = P * N;
    if (index >= uniforms.rows * pn) {
      return;
    }
    let e = index % pn;
    let bh = index / pn;
    let p = e / N;
    let n = e % N;
    let first = bh * uniforms.seqLen * 4;
    let carry = tok[first + 3] - tok[first + 1];
    var fold = 0.0;
    for (var r = 0; r < R; r++) {
      fold += vPrev[(bh * R + r) * P + p] * kPrev[(bh * R + r) * N + n];
    }
    var s = ssm[index] + carry * fold;
    result[bh * (uniforms.chunks + 1) * pn + e] = s;
    // loads for ${BATCH} chunks go out together (a constant-trip loop the compiler unrolls), so the scan
    // pays one memory latency per ${BATCH} chunks, not per chunk
    for (var c0 = 0; c0 < uniforms.chunks; c0 += ${BATCH}) {
      var decay : array<f32, ${BATCH}>;
      var add : array<f32, ${BATCH}>;
      for (var u = 0; u < ${BATCH}; u++) {
        let c = c0 + u;
        if (c < uniforms.chunks) {
          let last = min((c + 1) * uniforms.tileTokens, uniforms.seqLen) - 1;
          decay[u] = exp(ang[(bh * uniforms.seqLen + last) * (uniforms.angles + 1) + uniforms.angles]);
          add[u] = local[(bh * uniforms.chunks + c) * pn + e];
        }
      }
      for (var u = 0; u < ${BATCH}; u++) {
        let c = c0 + u;
        if (c < uniforms.chunks) {
          s = decay[u] * s + add[u];
          result[(bh * (uniforms.chunks + 1) + c + 1) * pn + e] = s;
        }
      }
    }
  }
`;
  }
}
