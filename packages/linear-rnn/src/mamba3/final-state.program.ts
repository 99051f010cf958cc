import type { WebGPUOutputsProgram } from '@tessera/tensor-core';
import { FINAL_STATE_WGSL } from './final-state.wgsl.js';
import { LAYOUT_UNIFORMS } from './kernel-layout.js';

const WORKGROUP = 64;

/**
 * The chunked forward's final state alone, one workgroup per (b, h) writing its state, angles and rotated keys
 * (`writeFinalState`): for devices that bind fewer than `ChunkOutputProgram`'s ten storage buffers with the final
 * state, where y runs without it. Five storage buffers. Inputs: `keys` (B), `states` (the state table from
 * `uniforms.stateBase`).
 */
export class FinalStateProgram implements WebGPUOutputsProgram {
  shaderKey = 'tessera_mamba3_final_state';
  outputNames = ['ssmOut', 'keyOut', 'angleOut'];
  variableNames = ['keys', 'states'];
  workgroupSize = WORKGROUP;
  workgroups: number;
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number) {
    this.workgroups = rows;
  }

  getUserCode(): string {
    return `
  ${FINAL_STATE_WGSL}
  fn main(workgroup : i32, local : i32) {
    if (workgroup < uniforms.rows) {
      writeFinalState(workgroup, local, ${WORKGROUP});
    }
  }
`;
  }
}
