import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

const WG = 64;

/**
 * One output of a draw written as `'bits'` (draw-output.ts): from int32 `bits: [B, 2]` = (id, logprob bits),
 * the ids (int32 `[B]`) or the logprobs (float32 `[B]`, the bits reinterpreted: exact, NaN included). One thread
 * a row.
 */
export class DrawColumnProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['bits'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  size = true;

  constructor(
    rows: number,
    private readonly column: 'id' | 'logprob',
  ) {
    this.outputShape = [rows];
    this.shaderKey = `tessera_draw_column_${column}_${WG}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(rows / WG)));
  }

  getUserCode(): string {
    const value = this.column === 'id' ? 'bits[row * 2]' : 'bitcast<f32>(bits[row * 2 + 1])';
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let row = i32(linearWorkgroupIndex()) * ${WG} + i32(localIndex);
    if (row < uniforms.size) {
      result[row] = ${value};
    }
  }
`;
  }
}
