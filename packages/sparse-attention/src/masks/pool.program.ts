import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

const WG = 256;

/**
 * Block means of q and k in one dispatch (papers/sparse.md A.1': q̄ᵢ = mean of query block i, k̄ⱼ of key
 * block j): one thread per output element, summing its block's tokens in order and dividing by their
 * count (the last block of a ragged sequence is the mean of its actual tokens). Neighbouring threads
 * take neighbouring dimensions, so reads are coalesced. `q [B·H, Lq, D]`, `k [B·H, Lk, D]` (flat) →
 * float32 `[B·H·Nq·D + B·H·Nk·D]`: q̄ `[B·H, Nq, D]`, then k̄ `[B·H, Nk, D]`.
 */
export class BlockPoolProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_pool_${WG}`;
  variableNames = ['q', 'k'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'heads : i32, d : i32, lq : i32, lk : i32, bq : i32, bk : i32, nq : i32, nk : i32,';

  constructor(heads: number, d: number, nq: number, nk: number) {
    const total = heads * (nq + nk) * d;
    this.outputShape = [total];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(total / WG)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let e = i32(linearWorkgroupIndex()) * ${WG} + i32(localIndex);
    let d = uniforms.d;
    let qSize = uniforms.heads * uniforms.nq * d;
    if (e >= qSize + uniforms.heads * uniforms.nk * d) { return; }
    let c = e % d;
    if (e < qSize) {
      let block = (e / d) % uniforms.nq;
      let bh = e / (d * uniforms.nq);
      let first = block * uniforms.bq;
      let end = min(first + uniforms.bq, uniforms.lq);
      var s = 0.0;
      for (var t = first; t < end; t++) { s += q[(bh * uniforms.lq + t) * d + c]; }
      result[e] = s / f32(end - first);
    } else {
      let f = e - qSize;
      let block = (f / d) % uniforms.nk;
      let bh = f / (d * uniforms.nk);
      let first = block * uniforms.bk;
      let end = min(first + uniforms.bk, uniforms.lk);
      var s = 0.0;
      for (var t = first; t < end; t++) { s += k[(bh * uniforms.lk + t) * d + c]; }
      result[e] = s / f32(end - first);
    }
  }
`;
  }
}
