import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { stepDelta, stepInputs } from './step.wgsl.js';

const WORKGROUP = 64;

/**
 * The output of one decode token: thread (b·H + h, c) computes o_c = s Σ_d q_d (e^g S[d, c] + k_d u_c)
 * from the OLD state, so that it runs independently of the state program (papers/linear_rnn.md §3.1).
 * Inputs q, then those of `DeltaRuleStepStateProgram`; output `[B, H, Dv]`.
 */
export class DeltaRuleStepOutputProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'dk : i32, dv : i32, total : i32, scale : f32,';
  private readonly gated: boolean;

  constructor(batch: number, heads: number, dv: number, gated: boolean) {
    this.gated = gated;
    this.variableNames = stepInputs(gated, true);
    this.outputShape = [batch, heads, dv];
    this.shaderKey = `tessera_delta_step_output_${gated ? 'gated' : 'plain'}_${WORKGROUP}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      Math.ceil((batch * heads * dv) / WORKGROUP),
    ));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let id = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (id >= uniforms.total) { return; }
    let dk = uniforms.dk;
    let dv = uniforms.dv;
    let bh = id / dv;
    let c = id % dv;
    ${stepDelta(this.gated)}
    var o = 0.0;
    for (var d = 0; d < dk; d++) { o += q[bh * dk + d] * (decay * state[(bh * dk + d) * dv + c] + k[bh * dk + d] * u); }
    result[id] = uniforms.scale * o;
  }
`;
  }
}
