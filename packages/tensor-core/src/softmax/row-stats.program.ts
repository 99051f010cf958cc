import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '../op/webgpu-program.js';
import { ONLINE_SOFTMAX_WGSL, SOFTMAX_WORKGROUP } from './online-softmax.wgsl.js';

/**
 * Pass 1 of the split-row softmax: workgroup (row, chunk) reduces its chunk of `x: [R, C]` to the pair
 * (max, Σ exp(x − max)), written to `result: [R, chunks·2]`. Splitting rows across workgroups keeps
 * every SM busy for few long rows (tfjs' own kernel runs one workgroup per row).
 */
export class RowStatsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [SOFTMAX_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32, chunk : i32, chunks : i32, temperature : f32,';

  constructor(rows: number, chunks: number) {
    this.outputShape = [rows, chunks * 2];
    this.shaderKey = `tessera_row_stats_${SOFTMAX_WORKGROUP}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * chunks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ONLINE_SOFTMAX_WGSL}
  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let chunks = uniforms.chunks;
    let row = wg / chunks;
    let start = (wg % chunks) * uniforms.chunk;
    let end = min(start + uniforms.chunk, uniforms.cols);
    let base = row * uniforms.cols;
    var st = vec2<f32>(-uniforms.INFINITY, 0.0);
    for (var i = start + i32(localIndex); i < end; i += WG) {
      st = pushValue(st, x[base + i] / uniforms.temperature);
    }
    st = reduceWorkgroup(st);
    if (localIndex == 0u) {
      result[wg * 2] = st.x;
      result[wg * 2 + 1] = st.y;
    }
  }
`;
  }
}
