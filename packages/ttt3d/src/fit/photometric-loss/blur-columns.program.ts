import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { BLUR_UNIFORMS, LOSS_WORKGROUP, SSIM_WGSL } from './ssim.wgsl.js';

/**
 * The vertical pass of the window over the 3 planes of SSIM's partials (`SsimMapsProgram`): the first half of
 * the zero-padded blur that carries them back onto the pixels (the window is symmetric, so the transposed
 * blur is the blur). Writes `[3, M]`.
 */
export class BlurColumnsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_fit_blur_columns_${LOSS_WORKGROUP}`;
  variableNames = ['maps'];
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
    let row = uniforms.w * 3;
    let t = taps(e / row, uniforms.h);
    var sum = vec3<f32>(0.0);
    for (var d = t.x; d <= t.y; d++) {
      let k = e + d * row;
      sum += GAUSS[d + RADIUS] * vec3<f32>(maps[k], maps[n + k], maps[2 * n + k]);
    }
    result[e] = sum.x;
    result[n + e] = sum.y;
    result[2 * n + e] = sum.z;
  }
`;
  }
}
