import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { LOG1M_WGSL } from './mirror-step.wgsl.js';
import type { StepWeights } from './op.js';

const WORKGROUP = 256;

/** WGSL for w(v) per weight kind: `w` is the per-row threshold `[B, 1]`, log p, or the weights `[B, V]`. */
const WEIGHT: Record<StepWeights, string> = {
  'uniform-top-r': 'select(0.0, 1.0, lp >= w[row])',
  prob: 'exp(w[i])',
  tensor: 'w[i]',
};

/**
 * One Best-of-K mirror step before normalisation, elementwise over `logQ, logP: [B, V]`, `eta: [B, 1]` and
 * `w` (see `WEIGHT`): y = log q + η((1 + λ) log p − λ log q + β̄K·w·(1 − q)^{K−1}), and −∞ where
 * log q = −∞ (see `bokStepOp`).
 */
export class BokStepProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['logQ', 'logP', 'w', 'eta'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'total : i32, cols : i32, lambda : f32, coverage : f32, kMinus1 : f32,';
  private readonly weights: StepWeights;

  constructor(rows: number, cols: number, weights: StepWeights) {
    this.outputShape = [rows, cols];
    this.weights = weights;
    this.shaderKey = `tessera_bok_step_${weights}_${WORKGROUP}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows * cols) / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${LOG1M_WGSL}

  fn main(index : i32) {
    let i = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (i >= uniforms.total) {
      return;
    }
    let lq = logQ[i];
    if (lq == -uniforms.INFINITY) {
      result[i] = lq;
      return;
    }
    let row = i / uniforms.cols;
    let lp = logP[i];
    var g = (1.0 + uniforms.lambda) * lp - uniforms.lambda * lq;
    if (uniforms.coverage != 0.0) {
      var untouched = 1.0;
      if (uniforms.kMinus1 != 0.0) {
        untouched = exp(uniforms.kMinus1 * log1mExact(exp(lq)));
      }
      g = g + uniforms.coverage * ${WEIGHT[this.weights]} * untouched;
    }
    result[i] = lq + eta[row] * g;
  }
`;
  }
}
