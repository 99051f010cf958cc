import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '../op/webgpu-program.js';
import { NON_FINITE_WGSL } from './non-finite.wgsl.js';
import { onlineSoftmaxWgsl, SOFTMAX_WORKGROUP } from './online-softmax.wgsl.js';

/**
 * Pass 1 of the split-row softmax: workgroup (row, chunk) reduces its chunk of z = x / T (`x: [R, C]`) to
 * the pair (max, Σ exp(z − max)) of its finite and −∞ entries, written to `result: [R, chunks·2]`.
 * A chunk holding a NaN writes (+∞, −1), one holding m entries at +∞ (and no NaN) writes (+∞, m): a
 * pair a finite chunk cannot produce, read by `NormalizeProgram` (NON_FINITE_WGSL). Splitting rows across
 * workgroups keeps every SM busy for few long rows (tfjs' own kernel runs one workgroup per row).
 */
export class RowStatsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [SOFTMAX_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32, chunk : i32, chunks : i32, temperature : f32,';
  private readonly subgroups: boolean;

  /** `subgroups`: reduce with subgroup operations (the device must have them: `webgpuSubgroups().enabled`). */
  constructor(rows: number, chunks: number, subgroups: boolean) {
    this.subgroups = subgroups;
    this.outputShape = [rows, chunks * 2];
    this.shaderKey = `tessera_row_stats_${SOFTMAX_WORKGROUP}_${subgroups ? 'sg' : 'tree'}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * chunks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${onlineSoftmaxWgsl(this.subgroups)}
  ${NON_FINITE_WGSL}
  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let chunks = uniforms.chunks;
    let row = wg / chunks;
    let start = (wg % chunks) * uniforms.chunk;
    let end = min(start + uniforms.chunk, uniforms.cols);
    let base = row * uniforms.cols;
    clearNonFinite();
    var st = vec2<f32>(-uniforms.INFINITY, 0.0);
    var nan = 0u;
    var inf = 0u;
    for (var i = start + i32(localIndex); i < end; i += WG) {
      let v = x[base + i];
      let z = v / uniforms.temperature;
      if (isnan(v)) {
        nan = 1u;
      } else if (isPositiveInfinity(z)) {
        inf += 1u;
      } else {
        st = pushValue(st, z);
      }
    }
    addNonFinite(nan, inf);
    st = reduceWorkgroup(st);
    let flags = nonFinite();
    if (localIndex == 0u) {
      var out = st;
      if (flags.x != 0u) {
        out = vec2<f32>(uniforms.INFINITY, -1.0);
      } else if (flags.y != 0u) {
        out = vec2<f32>(uniforms.INFINITY, f32(flags.y));
      }
      result[wg * 2] = out.x;
      result[wg * 2 + 1] = out.y;
    }
  }
`;
  }
}
