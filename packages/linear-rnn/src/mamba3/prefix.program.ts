import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/**
 * Chunk-local prefix sums `[B·H·L, Nr+1]`: channels j < Nr hold Σ π·tanh(theta)·Δ over the chunk up to
 * each token (the angle since the chunk start), channel Nr holds Σ AΔ (the log-decay since the chunk
 * start). One thread per (b·h, chunk, channel). Inputs: `theta: [B, H, L, Nr]`, `tok` (TokenProgram).
 */
export class PrefixProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_prefix';
  variableNames = ['theta', 'tok'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, seqLen: number, chunks: number, angles: number) {
    this.outputShape = [rows * seqLen, angles + 1];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      Math.ceil((rows * chunks * (angles + 1)) / 64),
    ));
  }

  getUserCode(): string {
    return `
  ${ROTARY_WGSL}
  fn main(index : i32) {
    let channels = uniforms.angles + 1;
    if (index >= uniforms.rows * uniforms.chunks * channels) {
      return;
    }
    let j = index % channels;
    let chunk = (index / channels) % uniforms.chunks;
    let bh = index / (channels * uniforms.chunks);
    let t0 = chunk * uniforms.tileTokens;
    let t1 = min(t0 + uniforms.tileTokens, uniforms.seqLen);
    var acc = 0.0;
    for (var t = t0; t < t1; t++) {
      let row = bh * uniforms.seqLen + t;
      if (j < uniforms.angles) {
        acc += PI * safeTanh(theta[row * uniforms.angles + j]) * tok[row * 4 + 3];
      } else {
        acc += tok[row * 4];
      }
      result[row * channels + j] = acc;
    }
  }
`;
  }
}
