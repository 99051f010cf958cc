import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { BLUR_UNIFORMS, LOSS_WORKGROUP, SSIM_WGSL } from './ssim.wgsl.js';

/**
 * The backward's first step after the statistics: the horizontal pass over `SsimStatsProgram`'s planes, then
 * SSIM's partials a = ∂S/∂μx, b = ∂S/∂E[x²], c = ∂S/∂E[xy] per element (ssim-terms.ts). Writes `[3, M]`.
 */
export class SsimMapsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_fit_ssim_maps_${LOSS_WORKGROUP}`;
  variableNames = ['stats'];
  workgroupSize: [number, number, number] = [LOSS_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = BLUR_UNIFORMS;

  constructor(n: number) {
    this.outputShape = [3, n];
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
    let t = taps((e / 3) % uniforms.w, uniforms.w);
    var first = vec4<f32>(0.0);
    var xy = 0.0;
    for (var d = t.x; d <= t.y; d++) {
      let k = e + d * 3;
      let g = GAUSS[d + RADIUS];
      first += g * vec4<f32>(stats[k], stats[n + k], stats[2 * n + k], stats[3 * n + k]);
      xy += g * stats[4 * n + k];
    }
    let terms = ssimTerms(first.x, first.y, first.z, first.w, xy);
    result[e] = terms.y;
    result[n + e] = terms.z;
    result[2 * n + e] = terms.w;
  }
`;
  }
}
