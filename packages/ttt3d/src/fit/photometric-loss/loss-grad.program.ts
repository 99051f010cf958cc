import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { BLUR_UNIFORMS, LOSS_WORKGROUP, SSIM_WGSL } from './ssim.wgsl.js';

/**
 * dL/drender per element, times the cotangent dy: l1/M · step(x − y) (tfjs' |·|′: −1 at 0) − dssim/M ·
 * (G∗a + 2x·G∗b + y·G∗c), finishing the blur of SSIM's partials with the horizontal pass over
 * `BlurColumnsProgram`'s planes. Without SSIM (weight 0) it reads no planes. Writes `[h, w, 3]`.
 */
export class LossGradProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [LOSS_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = `${BLUR_UNIFORMS} l1 : f32, dssim : f32,`;

  constructor(
    shape: number[],
    n: number,
    private readonly ssim: boolean,
  ) {
    this.outputShape = shape;
    this.shaderKey = `tessera_fit_loss_grad_${LOSS_WORKGROUP}_${ssim}`;
    this.variableNames = ssim ? ['x', 'y', 'dy', 'maps'] : ['x', 'y', 'dy'];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(shape, Math.ceil(n / LOSS_WORKGROUP)));
  }

  getUserCode(): string {
    const ssim = this.ssim
      ? `
    let t = taps((e / 3) % uniforms.w, uniforms.w);
    var sum = vec3<f32>(0.0);
    for (var d = t.x; d <= t.y; d++) {
      let k = e + d * 3;
      sum += GAUSS[d + RADIUS] * vec3<f32>(maps[k], maps[n + k], maps[2 * n + k]);
    }
    g -= uniforms.dssim * (sum.x + 2.0 * p * sum.y + q * sum.z);`
      : '';
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${SSIM_WGSL}
  fn main(index : i32) {
    let e = elementIndex();
    let n = uniforms.n;
    if (e >= n) { return; }
    let p = x[e];
    let q = y[e];
    var g = uniforms.l1 * select(-1.0, 1.0, p - q > 0.0);${ssim}
    result[e] = dy[0] * g;
  }
`;
  }
}
