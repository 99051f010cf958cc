import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { BLUR_UNIFORMS, LOSS_WORKGROUP, SSIM_WGSL } from './ssim.wgsl.js';

/**
 * The vertical pass of the windowed statistics: per element, Σ over the column taps of G · (x, y, x², y², xy)
 * (the composite's first, `[11, 1]` conv2d, zero padded). Writes the 5 planes `[5, M]`.
 */
export class SsimStatsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_fit_ssim_stats_${LOSS_WORKGROUP}`;
  variableNames = ['x', 'y'];
  workgroupSize: [number, number, number] = [LOSS_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = BLUR_UNIFORMS;

  constructor(n: number) {
    this.outputShape = [5, n];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(n / LOSS_WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${SSIM_WGSL}
  fn main(index : i32) {
    let e = elementIndex();
    let n = uniforms.n;
    if (e >= n) { return; }
    let row = uniforms.w * 3;
    let t = taps(e / row, uniforms.h);
    var first = vec4<f32>(0.0);
    var xy = 0.0;
    for (var d = t.x; d <= t.y; d++) {
      let k = e + d * row;
      let p = x[k];
      let q = y[k];
      let g = GAUSS[d + RADIUS];
      first += g * vec4<f32>(p, q, p * p, q * q);
      xy += g * (p * q);
    }
    result[e] = first.x;
    result[n + e] = first.y;
    result[2 * n + e] = first.z;
    result[3 * n + e] = first.w;
    result[4 * n + e] = xy;
  }
`;
  }
}
