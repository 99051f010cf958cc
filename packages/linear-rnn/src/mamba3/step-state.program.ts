import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS } from './kernel-layout.js';

/** Storage buffers StepStateProgram binds when it computes (α, β, γ) itself: eight inputs and its output. */
export const STEP_STATE_INLINE_BUFFERS = 9;

/**
 * The decoding step's state `[B·H, P·N]` (the state's `ssm`), one thread per element, consecutive threads along
 * (p, n) so that the state is read and written coalesced:
 *   S' = αS + β Σ_r v_{prev,r} k̃_{prev,r}ᵀ + γ Σ_r v_r k̃_rᵀ.
 * Inputs: `values` (x) `[B, H, R·P]`, the coefficients, `key` (StepKeyProgram: k̃), `ssm`, `kPrev`, `vPrev` (the
 * incoming state). The coefficients are `coef` (StepCoefProgram) or, with `inlineCoef`, computed here from `dt`,
 * `decay` and `trap` exactly as StepCoefProgram does (the same float32 operations: the same bits), one program
 * fewer a step where the device binds 9 storage buffers (`webgpuStorageBufferLimit`; WebGPU guarantees 8).
 */
export class StepStateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(
    rows: number,
    headDim: number,
    stateDim: number,
    private readonly inlineCoef = false,
  ) {
    this.shaderKey = `tessera_mamba3_step_state_${inlineCoef ? 'inline' : 'coef'}`;
    this.variableNames = ['values', ...(inlineCoef ? ['dt', 'decay', 'trap'] : ['coef']), 'key', 'ssm', 'kPrev', 'vPrev'];
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
    ${
      this.inlineCoef
        ? `let d = dt[bh];
    let alpha = exp(decay[bh] * d);
    let beta = (1.0 - trap[bh]) * d * alpha;
    let gamma = trap[bh] * d;`
        : `let alpha = coef[bh * 4];
    let beta = coef[bh * 4 + 1];
    let gamma = coef[bh * 4 + 2];`
    }
    result[index] = alpha * ssm[index] + beta * prev + gamma * cur;
  }
`;
  }
}
