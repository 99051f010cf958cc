import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

const WG = 256;

/**
 * `result[i] = x[offset + i]` for i < count: takes one result out of a program's packed output (a WGSL
 * program has a single output buffer). Works for float32 and int32.
 */
export class CopyRangeProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_copy_range_${WG}`;
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'offset : i32, count : i32,';

  constructor(shape: number[]) {
    this.outputShape = shape;
    const count = shape.reduce((a, b) => a * b, 1);
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(shape, Math.max(1, Math.ceil(count / WG))));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let i = i32(linearWorkgroupIndex()) * ${WG} + i32(localIndex);
    if (i < uniforms.count) { result[i] = x[uniforms.offset + i]; }
  }
`;
  }
}
