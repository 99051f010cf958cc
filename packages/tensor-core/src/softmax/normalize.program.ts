import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '../op/webgpu-program.js';
import { NON_FINITE_WGSL } from './non-finite.wgsl.js';
import { onlineSoftmaxWgsl, SOFTMAX_WORKGROUP } from './online-softmax.wgsl.js';

/**
 * Pass 2 of the split-row softmax: workgroup (row, chunk) folds the row's per-chunk statistics
 * `stats: [R, chunks·2]` into (max, sum) and writes its chunk of softmax or log-softmax. A row whose
 * chunks report a NaN is written NaN; one whose chunks report m entries at +∞ gets 1/m (log: −log m) on
 * them and 0 (−∞) elsewhere (`RowStatsProgram`).
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
  private readonly subgroups: boolean;

  /** `subgroups`: reduce with subgroup operations (the device must have them: `webgpuSubgroups().enabled`). */
  constructor(rows: number, cols: number, chunks: number, log: boolean, subgroups: boolean) {
    this.subgroups = subgroups;
    this.outputShape = [rows, cols];
    this.log = log;
    this.shaderKey = `tessera_softmax_normalize_${log ? 'log' : 'prob'}_${SOFTMAX_WORKGROUP}_${subgroups ? 'sg' : 'tree'}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * chunks));
  }

  getUserCode(): string {
    const write = this.log ? 'x[base + i] / uniforms.temperature - shift' : 'exp(x[base + i] / uniforms.temperature - st.x) * inv';
    const [on, off] = this.log ? ['-log(f32(flags.y))', '-uniforms.INFINITY'] : ['1.0 / f32(flags.y)', '0.0'];
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${onlineSoftmaxWgsl(this.subgroups)}
  ${NON_FINITE_WGSL}
  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let chunks = uniforms.chunks;
    let row = wg / chunks;
    clearNonFinite();
    var st = vec2<f32>(-uniforms.INFINITY, 0.0);
    var nan = 0u;
    var inf = 0u;
    for (var j = i32(localIndex); j < chunks; j += WG) {
      let k = (row * chunks + j) * 2;
      let chunkStats = vec2<f32>(stats[k], stats[k + 1]);
      if (isPositiveInfinity(chunkStats.x)) {
        if (chunkStats.y < 0.0) {
          nan = 1u;
        } else {
          inf += u32(chunkStats.y);
        }
      } else {
        st = combine(st, chunkStats);
      }
    }
    addNonFinite(nan, inf);
    st = reduceWorkgroup(st);
    let flags = nonFinite();
    let inv = 1.0 / st.y;
    let shift = st.x + log(st.y);
    let start = (wg % chunks) * uniforms.chunk;
    let end = min(start + uniforms.chunk, uniforms.cols);
    let base = row * uniforms.cols;
    for (var i = start + i32(localIndex); i < end; i += WG) {
      if (flags.x != 0u) {
        result[base + i] = uniforms.NAN;
      } else if (flags.y != 0u) {
        result[base + i] = select(${off}, ${on}, isPositiveInfinity(x[base + i] / uniforms.temperature));
      } else {
        result[base + i] = ${write};
      }
    }
  }
`;
  }
}
