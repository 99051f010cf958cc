import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/**
 * Per-token angles `[B·H·L, Nr+1]`: channels j < Nr hold the absolute angle θ_t mod 2π (chunk start +
 * chunk-local prefix), channel Nr keeps the chunk-local log-decay cumsum. Inputs: `prefix`, `starts`.
 */
export class AngleProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_angle';
  variableNames = ['prefix', 'starts'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, seqLen: number, angles: number) {
    this.outputShape = [rows * seqLen, angles + 1];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      Math.ceil((rows * seqLen * (angles + 1)) / 64),
    ));
  }

  getUserCode(): string {
    return `
  ${ROTARY_WGSL}
  fn main(index : i32) {
    let channels = uniforms.angles + 1;
    if (index >= uniforms.rows * uniforms.seqLen * channels) {
      return;
    }
    let j = index % channels;
    let row = index / channels;
    if (j == uniforms.angles) {
      result[index] = prefix[index];
      return;
    }
    let t = row % uniforms.seqLen;
    let bh = row / uniforms.seqLen;
    let chunk = t / uniforms.tileTokens;
    result[index] = wrapAngle(starts[(bh * uniforms.chunks + chunk) * uniforms.angles + j] + prefix[index]);
  }
`;
  }
}
