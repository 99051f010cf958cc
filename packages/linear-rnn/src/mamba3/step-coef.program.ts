import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS } from './kernel-layout.js';

/**
 * The decoding step's coefficients `[B·H, 4]`: (α = e^{AΔ}, β = (1−λ)Δα, γ = λΔ, 0). A program of its own
 * because StepStateProgram, which reads them, binds six other buffers already: Δ, A and λ as well would take it
 * past WebGPU's eight storage buffers per stage.
 * Inputs: `dt`, `decay` (A), `trap` (λ), all `[B, H]`.
 */
export class StepCoefProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_step_coef';
  variableNames = ['dt', 'decay', 'trap'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number) {
    this.outputShape = [rows * 4];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(rows / 64)));
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index >= uniforms.rows) {
      return;
    }
    let d = dt[index];
    let alpha = exp(decay[index] * d);
    result[index * 4] = alpha;
    result[index * 4 + 1] = (1.0 - trap[index]) * d * alpha;
    result[index * 4 + 2] = trap[index] * d;
    result[index * 4 + 3] = 0.0;
  }
`;
  }
}
