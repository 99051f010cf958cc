import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { BLUR_UNIFORMS, LOSS_WORKGROUP, SSIM_WGSL } from './ssim.wgsl.js';

/**
 * Per workgroup of elements, (Σ|x − y|, Σ S): S from the horizontal pass over the vertical statistics
 * (`SsimStatsProgram`; the composite's second conv2d). Without SSIM (its weight 0) it reads no statistics
 * and sums |x − y| only. Writes `[workgroups, 2]`, summed by `LossSumProgram`.
 */
export class LossTermsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [LOSS_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = BLUR_UNIFORMS;

  constructor(
    n: number,
    private readonly ssim: boolean,
  ) {
    const groups = Math.ceil(n / LOSS_WORKGROUP);
    this.outputShape = [groups, 2];
    this.shaderKey = `tessera_fit_loss_terms_${LOSS_WORKGROUP}_${ssim}`;
    this.variableNames = ssim ? ['x', 'y', 'stats'] : ['x', 'y'];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, groups));
  }

  getUserCode(): string {
    const ssim = this.ssim
      ? `
      let t = taps((e / 3) % uniforms.w, uniforms.w);
      var first = vec4<f32>(0.0);
      var xy = 0.0;
      for (var d = t.x; d <= t.y; d++) {
        let k = e + d * 3;
        let g = GAUSS[d + RADIUS];
        first += g * vec4<f32>(stats[k], stats[n + k], stats[2 * n + k], stats[3 * n + k]);
        xy += g * stats[4 * n + k];
      }
      terms.y = ssimTerms(first.x, first.y, first.z, first.w, xy).x;`
      : '';
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${SSIM_WGSL}
  var<workgroup> partial : array<vec2<f32>, ${LOSS_WORKGROUP}>;

  fn main(index : i32) {
    let e = elementIndex();
    let n = uniforms.n;
    var terms = vec2<f32>(0.0);
    if (e < n) {
      terms.x = abs(x[e] - y[e]);${ssim}
    }
    partial[localIndex] = terms;
    workgroupBarrier();
    for (var k = ${LOSS_WORKGROUP / 2}u; k > 0u; k = k >> 1u) {
      if (localIndex < k) { partial[localIndex] += partial[localIndex + k]; }
      workgroupBarrier();
    }
    if (localIndex == 0u) {
      let b = i32(linearWorkgroupIndex());
      result[2 * b] = partial[0].x;
      result[2 * b + 1] = partial[0].y;
    }
  }
`;
  }
}
