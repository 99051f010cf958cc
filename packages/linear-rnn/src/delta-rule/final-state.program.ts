import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

const WORKGROUP = 256;

/**
 * Copies the final state out of the state pass's buffer (its slot N, see `statePassLayout`): a tfjs
 * program has one output, and the op returns the state as a tensor of its own.
 * Input sv `[B·H, perHead]`; output `[B, H, Dk, Dv]`.
 */
export class DeltaRuleFinalStateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_delta_final_state_${WORKGROUP}`;
  variableNames = ['sv'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'stateSize : i32, perHead : i32, offset : i32, total : i32,';

  constructor(batch: number, heads: number, dk: number, dv: number) {
    this.outputShape = [batch, heads, dk, dv];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      Math.ceil((batch * heads * dk * dv) / WORKGROUP),
    ));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let id = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (id < uniforms.total) {
      let bh = id / uniforms.stateSize;
      result[id] = sv[bh * uniforms.perHead + uniforms.offset + id % uniforms.stateSize];
    }
  }
`;
  }
}
