import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { stepDelta, stepInputs } from './step.wgsl.js';

const WORKGROUP = 64;

/**
 * The new state of one decode token: thread (b·H + h, c) owns state column c, S'[:, c] = e^g S[:, c] + k u_c
 * (papers/linear_rnn.md §3.1). Inputs k `[B, H, Dk]`, v `[B, H, Dv]`, beta (and g) `[B, H]`,
 * state `[B, H, Dk, Dv]`; output `[B, H, Dk, Dv]`.
 */
export class DeltaRuleStepStateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'dk : i32, dv : i32, total : i32,';
  private readonly gated: boolean;

  constructor(batch: number, heads: number, dk: number, dv: number, gated: boolean) {
    this.gated = gated;
    this.variableNames = stepInputs(gated, false);
    this.outputShape = [batch, heads, dk, dv];
    this.shaderKey = `tessera_delta_step_state_${gated ? 'gated' : 'plain'}_${WORKGROUP}`;
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
    for (var d = 0; d < dk; d++) {
      let at = (bh * dk + d) * dv + c;
      result[at] = decay * state[at] + k[bh * dk + d] * u;
    }
  }
`;
  }
}
