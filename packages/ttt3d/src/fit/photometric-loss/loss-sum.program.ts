import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LOSS_WORKGROUP } from './ssim.wgsl.js';

/**
 * The loss from `LossTermsProgram`'s per-workgroup sums, in one workgroup: l1 · Σ|x − y|/M + dssim · (1 − ΣS/M),
 * a zero weight dropping its term as the composite does. Writes the scalar.
 */
export class LossSumProgram implements WebGPUProgram {
  outputShape: number[] = [];
  shaderKey = `tessera_fit_loss_sum_${LOSS_WORKGROUP}`;
  variableNames = ['partials'];
  workgroupSize: [number, number, number] = [LOSS_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'groups : i32, count : f32, l1 : f32, dssim : f32,';

  constructor() {
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid([1], 1));
  }

  getUserCode(): string {
    return `
  var<workgroup> partial : array<vec2<f32>, ${LOSS_WORKGROUP}>;

  fn main(index : i32) {
    var sum = vec2<f32>(0.0);
    for (var b = i32(localIndex); b < uniforms.groups; b += ${LOSS_WORKGROUP}) {
      sum += vec2<f32>(partials[2 * b], partials[2 * b + 1]);
    }
    partial[localIndex] = sum;
    workgroupBarrier();
    for (var k = ${LOSS_WORKGROUP / 2}u; k > 0u; k = k >> 1u) {
      if (localIndex < k) { partial[localIndex] += partial[localIndex + k]; }
      workgroupBarrier();
    }
    if (localIndex == 0u) {
      var loss = 0.0;
      if (uniforms.l1 > 0.0) { loss += uniforms.l1 * (partial[0].x / uniforms.count); }
      if (uniforms.dssim > 0.0) { loss += uniforms.dssim * (1.0 - partial[0].y / uniforms.count); }
      result[0] = loss;
    }
  }
`;
  }
}
