import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS } from './kernel-layout.js';

/**
 * Per-token coefficients `[B·H·L, 4]`: (AΔ_t, γ_t = λ_tΔ_t, scale_t = γ_t + (1−λ_{t+1})Δ_{t+1}, Δ_t), the
 * look-ahead of papers/linear_rnn.md 1.6 (0 after the last token). Inputs: `dt`, `decay` (A), `trap` (λ),
 * all `[B, H, L]`.
 */
export class TokenProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_token';
  variableNames = ['dt', 'decay', 'trap'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(tokens: number) {
    this.outputShape = [tokens, 4];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(tokens / 64)));
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index >= uniforms.rows * uniforms.seqLen) {
      return;
    }
    let t = index % uniforms.seqLen;
    let d = dt[index];
    let g = trap[index] * d;
    var next = 0.0;
    if (t + 1 < uniforms.seqLen) {
      next = (1.0 - trap[index + 1]) * dt[index + 1];
    }
    result[index * 4] = decay[index] * d;
    result[index * 4 + 1] = g;
    result[index * 4 + 2] = g + next;
    result[index * 4 + 3] = d;
  }
`;
  }
}
