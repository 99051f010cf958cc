import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/**
 * The rotary angle entering each chunk, `[B·H·chunks, Nr]`, mod 2π: a sequential scan over chunks (one
 * thread per (b·h, angle)) starting from the incoming state's angle. Inputs: `prefix` (PrefixProgram),
 * `angle0: [B, H, Nr]`.
 */
export class ChunkStartProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_chunk_start';
  variableNames = ['prefix', 'angle0'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, chunks: number, angles: number) {
    this.outputShape = [rows * chunks, angles];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows * angles) / 64)));
  }

  getUserCode(): string {
    return `
  ${ROTARY_WGSL}
  fn main(index : i32) {
    let nr = uniforms.angles;
    if (index >= uniforms.rows * nr) {
      return;
    }
    let j = index % nr;
    let bh = index / nr;
    var a = angle0[index];
    // loads for 8 chunks go out together, so the scan pays one memory latency per 8 chunks, not per chunk
    for (var c0 = 0; c0 < uniforms.chunks; c0 += 8) {
      var total : array<f32, 8>;
      for (var u = 0; u < 8; u++) {
        let c = c0 + u;
        if (c < uniforms.chunks) {
          let last = min((c + 1) * uniforms.tileTokens, uniforms.seqLen) - 1;
          total[u] = prefix[(bh * uniforms.seqLen + last) * (nr + 1) + j];
        }
      }
      for (var u = 0; u < 8; u++) {
        let c = c0 + u;
        if (c < uniforms.chunks) {
          result[(bh * uniforms.chunks + c) * nr + j] = a;
          a = wrapAngle(a + total[u]);
        }
      }
    }
  }
`;
  }
}
