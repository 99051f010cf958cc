import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/**
 * The last token's keys rotated by the final angles, `[B·H, R·N]` (the state's `k`): element n of rank block r
 * is element n of B at token L−1, turned with its pair partner by the angle after the last token (the state
 * table's last row; pairs past Nr stay as they are).
 * Inputs: `keys` (B), `states` (the state table from `uniforms.stateBase`).
 */
export class FinalKeyProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_final_key';
  variableNames = ['keys', 'states'];
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
    let N = uniforms.stateDim;
    let rn = uniforms.rank * N;
    if (index >= uniforms.rows * rn) {
      return;
    }
    let bh = index / rn;
    let m = index % rn;
    let n = m % N;
    let even = (bh * uniforms.seqLen + uniforms.seqLen - 1) * rn + m - n % 2;
    let first = keys[even];
    let second = keys[even + 1];
    let pair = n / 2;
    if (pair >= uniforms.angles) {
      result[index] = select(first, second, n % 2 == 1);
      return;
    }
    let rowWidth = uniforms.headDim * N + uniforms.angles;
    let row = uniforms.stateBase + (bh * (uniforms.chunks + 1) + uniforms.chunks) * rowWidth;
    result[index] = rotateElement(first, second, states[row + uniforms.headDim * N + pair], n % 2 == 1);
  }
`;
  }
}
