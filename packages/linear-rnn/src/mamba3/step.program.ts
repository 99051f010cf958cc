import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS } from './kernel-layout.js';

/**
 * One decoding step into the packed result `[B·H, R·P + P·N + R·N + Nr]`, one workgroup per (b, h):
 * first S' = αS + β Σ_r v_{prev,r} k̃_{prev,r}ᵀ + γ Σ_r v_r k̃_rᵀ (threads over consecutive (p, n), so the
 * state is read and written coalesced), then y_r = S' q̃_r + D v_r read back from the result, then the
 * rotated keys and the angle copied from the prep buffer. Inputs: `values` (x), `prep` (StepPrepProgram),
 * `skip` (D), `ssm`, `kPrev`, `vPrev`.
 */
export class StepProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_step';
  variableNames = ['values', 'prep', 'skip', 'ssm', 'kPrev', 'vPrev'];
  workgroupSize: [number, number, number] = [128, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, width: number) {
    this.outputShape = [rows, width];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let bh = i32(linearWorkgroupIndex());
    let tid = i32(localIndex);
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    let nr = uniforms.angles;
    let prepBase = bh * (4 + nr + 2 * R * N);
    let keysAt = prepBase + 4 + nr;
    let queriesAt = keysAt + R * N;
    let alpha = prep[prepBase];
    let beta = prep[prepBase + 1];
    let gamma = prep[prepBase + 2];
    let outBase = bh * uniforms.width;
    let stateAt = outBase + R * P;
    for (var e = tid; e < P * N; e += 128) {
      let p = e / N;
      let n = e % N;
      var prev = 0.0;
      var cur = 0.0;
      for (var r = 0; r < R; r++) {
        prev += vPrev[(bh * R + r) * P + p] * kPrev[(bh * R + r) * N + n];
        cur += values[(bh * R + r) * P + p] * prep[keysAt + r * N + n];
      }
      result[stateAt + e] = alpha * ssm[bh * P * N + e] + beta * prev + gamma * cur;
    }
    storageBarrier();
    workgroupBarrier();
    let d = skip[bh % uniforms.heads];
    for (var e = tid; e < R * P; e += 128) {
      let r = e / P;
      let p = e % P;
      var acc = 0.0;
      for (var n = 0; n < N; n++) {
        acc += result[stateAt + p * N + n] * prep[queriesAt + r * N + n];
      }
      result[outBase + e] = acc + d * values[bh * R * P + e];
    }
    for (var e = tid; e < R * N; e += 128) {
      result[stateAt + P * N + e] = prep[keysAt + e];
    }
    for (var e = tid; e < nr; e += 128) {
      result[stateAt + P * N + R * N + e] = prep[prepBase + 4 + e];
    }
  }
`;
  }
}
