import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '../op/webgpu-program.js';
import { ONLINE_SOFTMAX_WGSL, SOFTMAX_WORKGROUP } from './online-softmax.wgsl.js';

/**
 * Pass 2 of the split-row softmax: workgroup (row, chunk) folds the row's per-chunk statistics
 * `stats: [R, chunks·2]` into (max, sum) and writes its chunk of softmax or log-softmax.
 */
export class NormalizeProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['x', 'stats'];
  workgroupSize: [number, number, number] = [SOFTMAX_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32, chunk : i32, chunks : i32, temperature : f32,';
  private readonly log: boolean;

  constructor(rows: number, cols: number, chunks: number, log: boolean) {
    this.outputShape = [rows, cols];
    this.log = log;
    this.shaderKey = `tessera_softmax_normalize_${log ? 'log' : 'prob'}_${SOFTMAX_WORKGROUP}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * chunks));
  }

  getUserCode(): string {
    const write = this.log ? 'x[base + i] / uniforms.temperature - shift' : 'exp(x[base + i] / uniforms.temperature - st.x) * inv';
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ONLINE_SOFTMAX_WGSL}
  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let chunks = uniforms.chunks;
    let row = wg / chunks;
    var st = vec2<f32>(-uniforms.INFINITY, 0.0);
    for (var j = i32(localIndex); j < chunks; j += WG) {
      let k = (row * chunks + j) * 2;
      st = combine(st, vec2<f32>(stats[k], stats[k + 1]));
    }
    st = reduceWorkgroup(st);
    let inv = 1.0 / st.y;
    let shift = st.x + log(st.y);
    let start = (wg % chunks) * uniforms.chunk;
    let end = min(start + uniforms.chunk, uniforms.cols);
    let base = row * uniforms.cols;
    for (var i = start + i32(localIndex); i < end; i += WG) {
      result[base + i] = ${write};
    }
  }
`;
  }
}
