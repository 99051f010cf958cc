import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';

const WG = 256;

/**
 * A BlockMask's sparsity in one dispatch: a single workgroup sums `kvNum [R]` (int32, exact) and writes
 * 1 − Σ / cells, cells = B·H·Nq·Nk. Output float32 `[1]`.
 */
export class SparsityProgram implements WebGPUProgram {
  outputShape = [1];
  shaderKey = `tessera_block_mask_sparsity_${WG}`;
  variableNames = ['kvNum'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'lines : i32, cells : f32,';

  constructor() {
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, 1));
  }

  getUserCode(): string {
    return `
  var<workgroup> part : array<i32, ${WG}>;
  fn main(index : i32) {
    let tid = i32(localIndex);
    var s = 0;
    for (var r = tid; r < uniforms.lines; r += ${WG}) { s += kvNum[r]; }
    part[tid] = s;
    workgroupBarrier();
    for (var stride = ${WG / 2}; stride > 0; stride = stride / 2) {
      if (tid < stride) { part[tid] += part[tid + stride]; }
      workgroupBarrier();
    }
    if (tid == 0) { result[0] = 1.0 - f32(part[0]) / uniforms.cells; }
  }
`;
  }
}
