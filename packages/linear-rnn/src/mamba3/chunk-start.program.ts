import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/** Chunks one workgroup scans per pass. */
const BLOCK = 256;

/**
 * The rotary angle entering each chunk, `[B·H·chunks, Nr]`, mod 2π, starting from the incoming state's
 * angle. Workgroup (b·h, angle) of 256 threads: each pass loads 256 chunk totals at once (one per thread)
 * and scans them in shared memory (Hillis–Steele, eight constant steps) with the combine
 * (a, b) ↦ (a + b) mod 2π, which keeps every partial sum below 4π, so its rounding does not grow with L.
 * One pass covers 256 chunks (L = 16384 at 64-token chunks); longer inputs carry the total into the next.
 * Inputs: `prefix` (PrefixProgram), `angle0: [B, H, Nr]`.
 */
export class ChunkStartProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_chunk_start';
  variableNames = ['prefix', 'angle0'];
  workgroupSize: [number, number, number] = [BLOCK, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, chunks: number, angles: number) {
    this.outputShape = [rows * chunks, angles];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * angles));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ROTARY_WGSL}
  var<workgroup> scan : array<f32, ${BLOCK}>;

  fn main(index : i32) {
    let nr = uniforms.angles;
    let wg = i32(linearWorkgroupIndex());
    let j = wg % nr;
    let bh = wg / nr;
    let tid = i32(localIndex);
    var carry = angle0[wg];
    for (var c0 = 0; c0 < uniforms.chunks; c0 += ${BLOCK}) {
      let c = c0 + tid;
      if (c < uniforms.chunks) {
        let last = min((c + 1) * uniforms.tileTokens, uniforms.seqLen) - 1;
        scan[tid] = wrapAngle(prefix[(bh * uniforms.seqLen + last) * (nr + 1) + j]);
      } else {
        scan[tid] = 0.0;
      }
      workgroupBarrier();
      for (var offset = 1; offset < ${BLOCK}; offset *= 2) {
        var add = 0.0;
        if (tid >= offset) {
          add = scan[tid - offset];
        }
        workgroupBarrier();
        scan[tid] = wrapAngle(scan[tid] + add);
        workgroupBarrier();
      }
      var before = 0.0;
      if (tid > 0) {
        before = scan[tid - 1];
      }
      if (c < uniforms.chunks) {
        result[(bh * uniforms.chunks + c) * nr + j] = wrapAngle(carry + before);
      }
      carry = wrapAngle(carry + scan[${BLOCK - 1}]);
      workgroupBarrier();
    }
  }
`;
  }
}
