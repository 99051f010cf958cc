import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS } from './kernel-layout.js';

/**
 * `count` floats from `offset` of every (b, h)'s last row of the state table (the state after the last token):
 * `[B·H, count]`. The forward's final state (offset 0, count P·N) and final angles (offset P·N, count Nr) are
 * two runs of it: each result of the op is a tensor of its own, and one program writes one tensor.
 * Inputs: `states` (the state table from `uniforms.stateBase`).
 */
export class FinalRowProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_final_row';
  variableNames = ['states'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = `${LAYOUT_UNIFORMS} offset : i32, count : i32,`;

  constructor(rows: number, count: number) {
    this.outputShape = [rows * count];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows * count) / 64)));
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index >= uniforms.rows * uniforms.count) {
      return;
    }
    let bh = index / uniforms.count;
    let rowWidth = uniforms.headDim * uniforms.stateDim + uniforms.angles;
    let row = uniforms.stateBase + (bh * (uniforms.chunks + 1) + uniforms.chunks) * rowWidth;
    result[index] = states[row + uniforms.offset + index % uniforms.count];
  }
`;
  }
}
