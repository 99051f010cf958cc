import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/**
 * The decoding step's output `[B·H, R·P]`: y_r = S' q̃_r + D v_r, one thread per (b·h, r, p), which turns the
 * query pairs by the new angles as it goes.
 * Inputs: `state` (StepStateProgram: S'), `queries` (C) `[B, H, R·N]`, `angle` (StepAngleProgram),
 * `values` (x), `skip` (D).
 */
export class StepOutputProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_step_output';
  variableNames = ['state', 'queries', 'angle', 'values', 'skip'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, width: number) {
    this.outputShape = [rows * width];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows * width) / 64)));
  }

  getUserCode(): string {
    return `
  ${ROTARY_WGSL}
  fn main(index : i32) {
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let rp = uniforms.rank * P;
    if (index >= uniforms.rows * rp) {
      return;
    }
    let bh = index / rp;
    let r = (index % rp) / P;
    let p = index % P;
    let row = (bh * P + p) * N;
    let q0 = (bh * uniforms.rank + r) * N;
    var acc = 0.0;
    for (var j = 0; j < N / 2; j++) {
      var q = vec2<f32>(queries[q0 + 2 * j], queries[q0 + 2 * j + 1]);
      if (j < uniforms.angles) {
        q = rotateBy(q, angle[bh * uniforms.angles + j]);
      }
      acc += state[row + 2 * j] * q.x + state[row + 2 * j + 1] * q.y;
    }
    result[index] = acc + skip[bh % uniforms.heads] * values[index];
  }
`;
  }
}
