import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/**
 * Per (b, h) coefficients of one decoding step, `[B·H, 4 + Nr + 2·R·N]`: (α = e^{AΔ}, β = (1−λ)Δα,
 * γ = λΔ, 0), the new angle θ = (θ_prev + π·tanh(theta)·Δ) mod 2π, then the rotated keys and queries.
 * Inputs: `dt`, `decay` (A), `trap` (λ) `[B, H]`, `theta`, `angle0` `[B, H, Nr]`, `keys`, `queries` `[B, H, R·N]`.
 */
export class StepPrepProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_step_prep';
  variableNames = ['dt', 'decay', 'trap', 'theta', 'angle0', 'keys', 'queries'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, width: number) {
    this.outputShape = [rows, width];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows * width) / 64)));
  }

  getUserCode(): string {
    return `
  ${ROTARY_WGSL}
  fn angleAt(bh : i32, j : i32) -> f32 {
    return wrapAngle(angle0[bh * uniforms.angles + j] + PI * safeTanh(theta[bh * uniforms.angles + j]) * dt[bh]);
  }
  fn rotatedAt(bh : i32, m : i32, useQueries : bool) -> f32 {
    let n = m % uniforms.stateDim;
    let even = m - n % 2;
    let first = select(keys[bh * uniforms.rank * uniforms.stateDim + even], queries[bh * uniforms.rank * uniforms.stateDim + even], useQueries);
    let second = select(keys[bh * uniforms.rank * uniforms.stateDim + even + 1], queries[bh * uniforms.rank * uniforms.stateDim + even + 1], useQueries);
    let pair = (n - n % 2) / 2;
    if (pair >= uniforms.angles) {
      return select(first, second, n % 2 == 1);
    }
    return rotateElement(first, second, angleAt(bh, pair), n % 2 == 1);
  }
  fn main(index : i32) {
    let rn = uniforms.rank * uniforms.stateDim;
    let width = 4 + uniforms.angles + 2 * rn;
    if (index >= uniforms.rows * width) {
      return;
    }
    let e = index % width;
    let bh = index / width;
    let d = dt[bh];
    let alpha = exp(decay[bh] * d);
    var out = 0.0;
    if (e == 0) {
      out = alpha;
    } else if (e == 1) {
      out = (1.0 - trap[bh]) * d * alpha;
    } else if (e == 2) {
      out = trap[bh] * d;
    } else if (e >= 4 && e < 4 + uniforms.angles) {
      out = angleAt(bh, e - 4);
    } else if (e >= 4 + uniforms.angles) {
      let m = e - 4 - uniforms.angles;
      out = rotatedAt(bh, m % rn, m >= rn);
    }
    result[index] = out;
  }
`;
  }
}
