import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { compactLineWgsl, UNIFORM_LINE_WGSL } from './lists.wgsl.js';

const WG = 64;

/**
 * kvIndices → qIndices, the transpose the dK/dV backward walks: one workgroup per key block column
 * c = (b·H + h)·Nk + j lists, ascending, the query blocks i whose row of `kvIdx [B·H·Nq, Nk]` holds j,
 * then −1 (`compactLine`). Rows are ascending with −1 after the kept blocks, so "row i holds j" is a
 * binary search (−1 ranking last): ⌈log₂ Nk⌉ + 1 reads, and the transpose needs no dense mask.
 * Output int32 `[B·H·Nk, Nq]`.
 */
export class ColumnListsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_mask_column_lists_${WG}`;
  variableNames = ['kvIdx'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'lines : i32, nq : i32, nk : i32,';

  constructor(heads: number, nq: number, nk: number) {
    this.outputShape = [heads * nk * nq];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, heads * nk));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_LINE_WGSL}
  var<workgroup> counts : array<u32, ${WG}>;
  fn kept(line : i32, i : i32) -> bool {
    let nk = uniforms.nk;
    let j = line % nk;
    let row = ((line / nk) * uniforms.nq + i) * nk;
    var lo = 0;
    var hi = nk;
    while (lo < hi) {
      let mid = (lo + hi) / 2;
      let x = kvIdx[row + mid];
      if (x >= 0 && x < j) { lo = mid + 1; } else { hi = mid; }
    }
    return lo < nk && kvIdx[row + lo] == j;
  }
  ${compactLineWgsl(WG, 'counts')}
  fn main(index : i32) {
    let line = uniformLine();
    if (line >= uniforms.lines) { return; }
    compactLine(line, uniforms.nq);
  }
`;
  }
}
