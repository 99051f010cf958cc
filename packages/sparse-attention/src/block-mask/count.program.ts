import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

const WG = 128;

/**
 * Lengths of index lists: one thread per line of `lists [R, W]` (kept indices first, then −1) finds the
 * first −1 by binary search. kvNumBlocks from kvIndices, qNumBlocks from qIndices. Output int32 `[R]`.
 */
export class ListCountProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_mask_list_count_${WG}`;
  variableNames = ['lists'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'lines : i32, width : i32,';

  constructor(lines: number) {
    this.outputShape = [lines];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(lines / WG)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let line = i32(linearWorkgroupIndex()) * ${WG} + i32(localIndex);
    if (line >= uniforms.lines) { return; }
    let w = uniforms.width;
    var lo = 0;
    var hi = w;
    while (lo < hi) {
      let mid = (lo + hi) / 2;
      if (lists[line * w + mid] >= 0) { lo = mid + 1; } else { hi = mid; }
    }
    result[line] = lo;
  }
`;
  }
}
