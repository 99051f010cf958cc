import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

const WG = 64;

/**
 * Mask → index lists, on the device: one thread per block row of `mask [R = B·H·Nq, Nk]` (int32, nonzero
 * = kept) writes the kept key blocks in ascending order, −1 after them, and their count; one thread per
 * block column writes the same for the transpose (the query blocks keeping each key block, for the dK/dV
 * backward). Output (int32, flat): kvIdx `[R, Nk]`, kvNum `[R]`, qIdx `[C = B·H·Nk, Nq]`, qNum `[C]`.
 * Rows hold at most a few thousand blocks, so a sequential scan per thread is cheaper than a scan
 * across threads.
 */
export class CompactProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_mask_compact_${WG}`;
  variableNames = ['mask'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'heads : i32, nq : i32, nk : i32,';

  constructor(heads: number, nq: number, nk: number) {
    const rows = heads * nq;
    const cols = heads * nk;
    this.outputShape = [rows * (nk + 1) + cols * (nq + 1)];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows + cols) / WG)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let t = i32(linearWorkgroupIndex()) * ${WG} + i32(localIndex);
    let nq = uniforms.nq;
    let nk = uniforms.nk;
    let rows = uniforms.heads * nq;
    let cols = uniforms.heads * nk;
    if (t < rows) {
      var n = 0;
      for (var j = 0; j < nk; j++) {
        if (mask[t * nk + j] != 0) {
          result[t * nk + n] = j;
          n++;
        }
      }
      for (var j = n; j < nk; j++) { result[t * nk + j] = -1; }
      result[rows * nk + t] = n;
    } else if (t < rows + cols) {
      let c = t - rows;
      let bh = c / nk;
      let j = c % nk;
      let base = rows * (nk + 1);
      var n = 0;
      for (var i = 0; i < nq; i++) {
        if (mask[(bh * nq + i) * nk + j] != 0) {
          result[base + c * nq + n] = i;
          n++;
        }
      }
      for (var i = n; i < nq; i++) { result[base + c * nq + i] = -1; }
      result[base + cols * nq + c] = n;
    }
  }
`;
  }
}
