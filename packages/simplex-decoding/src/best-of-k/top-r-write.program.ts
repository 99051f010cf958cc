import { flatGrid, LINEAR_WORKGROUP_INDEX, SOFTMAX_WORKGROUP, type WebGPUProgram } from '@tessera/tensor-core';
import { POSITIVE_INFINITY_WGSL } from '../non-finite.wgsl.js';
import { MIRROR_STEP_WGSL } from './mirror-step.wgsl.js';

/**
 * Pass 4 of the fused 'uniform-top-r' Best-of-K: workgroup (row, chunk) writes its chunk of q `[B, V]`
 * from the logits `x: [B, V]` and the row's scalars `solved: [B, 3 + J]` (see `TopRMergeProgram`):
 * q = 0 on masked tokens (NaN on a row with no unmasked token, as softmax), exp(a_J·(x − x_r)/T + d_J) below x_r, and on R the J steps replayed with the
 * solved normalisers, log q_{j+1} = mirrorStep(log q_j, log p) − log Z_j — the arithmetic of the solve,
 * so both agree on every weighted token. Rows the merge marked (log-sum-exp +∞) are written as the
 * non-finite rules say: NaN for a row holding a NaN, 1/m on its m tokens at +∞ (x/T) and 0 elsewhere.
 */
export class TopRWriteProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_bok_top_r_write_${SOFTMAX_WORKGROUP}`;
  variableNames = ['x', 'solved'];
  workgroupSize: [number, number, number] = [SOFTMAX_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms =
    'cols : i32, chunk : i32, chunks : i32, steps : i32, invT : f32, lambda : f32, eta : f32, coverage : f32, kMinus1 : f32, decay : f32, gain : f32,';

  constructor(rows: number, cols: number, chunks: number) {
    this.outputShape = [rows, cols];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * chunks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${MIRROR_STEP_WGSL}
  ${POSITIVE_INFINITY_WGSL}
  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let chunks = uniforms.chunks;
    let row = wg / chunks;
    let start = (wg % chunks) * uniforms.chunk;
    let end = min(start + uniforms.chunk, uniforms.cols);
    let base = row * uniforms.cols;
    let steps = uniforms.steps;
    let sb = row * (steps + 3);
    let lse = solved[sb];
    let threshold = solved[sb + 1];
    let d = solved[sb + 2];
    var a = 1.0;
    for (var j = 0; j < steps; j++) {
      a = uniforms.decay * a + uniforms.gain;
    }
    for (var i = start + i32(localIndex); i < end; i += ${SOFTMAX_WORKGROUP}) {
      let v = x[base + i];
      var q = 0.0;
      if (lse == -uniforms.INFINITY || (isPositiveInfinity(lse) && d < 0.0)) {
        // no unmasked token, or a NaN in the row: NaN, as softmax gives
        q = uniforms.NAN;
      } else if (isPositiveInfinity(lse)) {
        q = select(0.0, 1.0 / d, isPositiveInfinity(v * uniforms.invT));
      } else if (v < threshold) {
        q = exp(a * ((v - threshold) * uniforms.invT) + d);
      } else if (v != -uniforms.INFINITY) {
        let lp = v * uniforms.invT - lse;
        var lq = lp;
        for (var j = 0; j < steps; j++) {
          lq = mirrorStep(lq, lp) - solved[sb + 3 + j];
        }
        q = exp(lq);
      }
      result[base + i] = q;
    }
  }
`;
  }
}
