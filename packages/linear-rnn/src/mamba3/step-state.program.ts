import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS } from './kernel-layout.js';

/**
 * The decoding step's state `[B·H, P·N]` (the state's `ssm`), one thread per element, consecutive threads along
 * (p, n) so that the state is read and written coalesced:
 *   S' = αS + β Σ_r v_{prev,r} k̃_{prev,r}ᵀ + γ Σ_r v_r k̃_rᵀ.
 * Inputs: `values` (x) `[B, H, R·P]`, `coef` (StepCoefProgram), `key` (StepKeyProgram: k̃), `ssm`, `kPrev`,
 * `vPrev` (the incoming state).
 */
export class StepStateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_step_state';
  variableNames = ['values', 'coef', 'key', 'ssm', 'kPrev', 'vPrev'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, headDim: number, stateDim: number) {
    this.outputShape = [rows * headDim * stateDim];
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
    if (index >= uniforms.rows * P * N) {
      return;
    }
    let bh = index / (P * N);
    let p = (index / N) % P;
    let n = index % N;
    var prev = 0.0;
    var cur = 0.0;
    for (var r = 0; r < R; r++) {
      prev += vPrev[(bh * R + r) * P + p] * kPrev[(bh * R + r) * N + n];
      cur += values[(bh * R + r) * P + p] * key[(bh * R + r) * N + n];
    }
    result[index] = coef[bh * 4] * ssm[index] + coef[bh * 4 + 1] * prev + coef[bh * 4 + 2] * cur;
  }
`;
  }
}
