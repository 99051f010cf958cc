import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/**
 * The decoding step's rotated keys `[B·H, R·N]` (the state's `k`): element n of rank block r of B, turned with
 * its pair partner by the new angle of its pair (pairs past Nr stay as they are).
 * Inputs: `keys` (B) `[B, H, R·N]`, `angle` (StepAngleProgram).
 */
export class StepKeyProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_step_key';
  variableNames = ['keys', 'angle'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, width: number) {
    this.outputShape = [rows * width];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows * width) / 64)));
  }

  getUserCode(): string {
    return `
  ${ROTARY_WGSL}
  fn main(index : i32) {
    let rn = uniforms.rank * uniforms.stateDim;
    if (index >= uniforms.rows * rn) {
      return;
    }
    let n = index % uniforms.stateDim;
    let even = index - n % 2;
    let first = keys[even];
    let second = keys[even + 1];
    let pair = n / 2;
    if (pair >= uniforms.angles) {
      result[index] = select(first, second, n % 2 == 1);
      return;
    }
    result[index] = rotateElement(first, second, angle[(index / rn) * uniforms.angles + pair], n % 2 == 1);
  }
`;
  }
}
