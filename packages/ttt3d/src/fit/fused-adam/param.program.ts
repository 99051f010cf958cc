import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { ADAM_MOMENTS_WGSL, ADAM_UNIFORMS, ADAM_WORKGROUP } from './adam.wgsl.js';

/**
 * θ' = −lr · (m'/c₁) / (√(v'/c₂) + ε) + θ for every element of one variable (reference.ts), m' and v'
 * recomputed from the gradient and the old moments. Writes `[...shape]`.
 */
export class AdamParamProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_fit_adam_param_${ADAM_WORKGROUP}`;
  variableNames = ['param', 'grad', 'moments'];
  workgroupSize: [number, number, number] = [ADAM_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = ADAM_UNIFORMS;

  constructor(shape: number[], n: number) {
    this.outputShape = shape;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(shape, Math.ceil(n / ADAM_WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ADAM_MOMENTS_WGSL}
  fn main(index : i32) {
    let i = i32(linearWorkgroupIndex() * ${ADAM_WORKGROUP}u + localIndex);
    if (i >= uniforms.n) { return; }
    let mv = adamMoments(i);
    let mHat = mv.x / uniforms.correction1;
    let vHat = mv.y / uniforms.correction2;
    result[i] = (mHat / (sqrt(vHat) + uniforms.epsilon)) * uniforms.negLr + param[i];
  }
`;
  }
}
