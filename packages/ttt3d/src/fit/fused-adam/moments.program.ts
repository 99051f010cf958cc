import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { ADAM_MOMENTS_WGSL, ADAM_UNIFORMS, ADAM_WORKGROUP } from './adam.wgsl.js';

/** The new interleaved moments (m', v') of every element of one variable (reference.ts). Writes `[...shape, 2]`. */
export class AdamMomentsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_fit_adam_moments_${ADAM_WORKGROUP}`;
  variableNames = ['grad', 'moments'];
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
    result[2 * i] = mv.x;
    result[2 * i + 1] = mv.y;
  }
`;
  }
}
