import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/**
 * The decoding step's new angles `[B·H, Nr]` (the state's `angle`): θ = (θ_prev + π·tanh(theta)·Δ) mod 2π.
 * Inputs: `dt` `[B, H]`, `theta`, `angle0` `[B, H, Nr]`.
 */
export class StepAngleProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_step_angle';
  variableNames = ['dt', 'theta', 'angle0'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, angles: number) {
    this.outputShape = [rows * angles];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows * angles) / 64)));
  }

  getUserCode(): string {
    return `
  ${ROTARY_WGSL}
  fn main(index : i32) {
    if (index >= uniforms.rows * uniforms.angles) {
      return;
    }
    result[index] = wrapAngle(angle0[index] + PI * safeTanh(theta[index]) * dt[index / uniforms.angles]);
  }
`;
  }
}
