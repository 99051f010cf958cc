import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { compactLineWgsl, UNIFORM_LINE_WGSL } from './lists.wgsl.js';

const WG = 64;

/**
 * Dense block mask → kvIndices: one workgroup per block row of `mask [R = B·H·Nq, Nk]` (int32, nonzero =
 * kept) writes the row's kept key blocks in ascending order, then −1 (`compactLine`). Output int32
 * `[R, Nk]`.
 */
export class RowListsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_mask_row_lists_${WG}`;
  variableNames = ['mask'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'lines : i32, n : i32,';

  constructor(rows: number, nk: number) {
    this.outputShape = [rows * nk];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_LINE_WGSL}
  var<workgroup> counts : array<u32, ${WG}>;
  fn kept(line : i32, j : i32) -> bool { return mask[line * uniforms.n + j] != 0; }
  ${compactLineWgsl(WG, 'counts')}
  fn main(index : i32) {
    let line = uniformLine();
    if (line >= uniforms.lines) { return; }
    compactLine(line, uniforms.n);
  }
`;
  }
}
