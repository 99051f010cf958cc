import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { type ChunkTile, WORKGROUP_FLOATS } from './tile.js';

const WORKGROUP = 128;

/**
 * Pass B of the state stage's scan (state.program.ts, role 'transitions', gives T_g and b_g): workgroup
 * (b·H + h, slice) owns `slice` columns of S `[Dk, Dv]` and walks the G groups in order, storing the state that
 * enters each and then S ← T_g S + b_g, one Dk×Dk by Dk×slice product per group (columns of S are independent,
 * as in the state pass). T_g is staged through workgroup memory in blocks of its columns, each block transposed
 * (one padding float per row, so that neither its coalesced fill nor the product's reads collide on banks);
 * each thread owns vec4s of S's columns. At Dk = 64 one block holds all of T_g.
 * Inputs tb `[B·H, G, transitionSize]` (T_g `[Dk, Dk]`, then b_g `[Dk, Dv]`), state `[B, H, Dk, Dv]`;
 * output `[B·H, G, Dk, Dv]`, the state entering each group (the first is the input state).
 */
export class DeltaRuleGroupScanProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['tb', 'state'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'dv : i32, groups : i32, slices : i32,';
  private readonly dk: number;
  private readonly slice: number;

  constructor(batchHeads: number, dk: number, dv: number, tile: ChunkTile, groups: number) {
    this.dk = dk;
    this.slice = tile.slice;
    this.outputShape = [batchHeads, groups, dk * dv];
    this.shaderKey = `tessera_delta_group_scan_${dk}_${tile.slice}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      batchHeads * Math.ceil(dv / tile.slice),
    ));
  }

  /** The values of `uniforms`, in order. */
  static uniformValues(dv: number, tile: ChunkTile, groups: number): number[] {
    return [dv, groups, Math.ceil(dv / tile.slice)];
  }

  getUserCode(): string {
    const dk = this.dk;
    const groups = this.slice / 4;
    // the columns of T that fit beside the state slice
    const block = Math.min(dk, Math.floor((WORKGROUP_FLOATS - dk * this.slice) / (dk + 1)));
    return `
  ${LINEAR_WORKGROUP_INDEX}
  const HEAD_K = ${dk};
  const PITCH = ${dk + 1};
  const GROUPS = ${groups};
  const BLOCK = ${block};
  const WG = ${WORKGROUP};
  const OUT_PER = ${Math.ceil((dk * groups) / WORKGROUP)};
  var<workgroup> st : array<vec4<f32>, ${dk * groups}>;
  var<workgroup> tt : array<f32, ${(dk + 1) * block}>;
  ${['tb', 'state']
    .map(
      (buf) => `
  fn ${buf}Row4(off : i32, col : i32, dv : i32) -> vec4<f32> {
    var x = vec4<f32>(0.0);
    if (col < dv) { x.x = ${buf}[off + col]; }
    if (col + 1 < dv) { x.y = ${buf}[off + col + 1]; }
    if (col + 2 < dv) { x.z = ${buf}[off + col + 2]; }
    if (col + 3 < dv) { x.w = ${buf}[off + col + 3]; }
    return x;
  }`,
    )
    .join('')}

  fn store4(off : i32, col : i32, dv : i32, x : vec4<f32>) {
    if (col < dv) { result[off + col] = x.x; }
    if (col + 1 < dv) { result[off + col + 1] = x.y; }
    if (col + 2 < dv) { result[off + col + 2] = x.z; }
    if (col + 3 < dv) { result[off + col + 3] = x.w; }
  }

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let tid = i32(localIndex);
    let dv = uniforms.dv;
    let bh = wg / uniforms.slices;
    let c0 = (wg % uniforms.slices) * GROUPS * 4;
    for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
      st[e] = stateRow4((bh * HEAD_K + e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv);
    }
    workgroupBarrier();
    for (var g = 0; g < uniforms.groups; g++) {
      let bg = bh * uniforms.groups + g;
      for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
        store4((bg * HEAD_K + e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv, st[e]);
      }
      if (g + 1 == uniforms.groups) { break; }
      let tBase = bg * HEAD_K * (HEAD_K + dv);
      // S' = b_g + T_g S, summed in registers over blocks of T's columns
      var acc : array<vec4<f32>, OUT_PER>;
      for (var r = 0; r < OUT_PER; r++) {
        let e = tid + r * WG;
        if (e < HEAD_K * GROUPS) {
          acc[r] = tbRow4(tBase + HEAD_K * HEAD_K + (e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv);
        }
      }
      for (var j0 = 0; j0 < HEAD_K; j0 += BLOCK) {
        workgroupBarrier();
        for (var e = tid; e < HEAD_K * BLOCK; e += WG) {
          let d = e / BLOCK;
          let j = e % BLOCK;
          if (j0 + j < HEAD_K) { tt[j * PITCH + d] = tb[tBase + d * HEAD_K + j0 + j]; }
        }
        workgroupBarrier();
        for (var r = 0; r < OUT_PER; r++) {
          let e = tid + r * WG;
          if (e < HEAD_K * GROUPS) {
            let d = e / GROUPS;
            let g4 = e % GROUPS;
            for (var j = 0; j < min(BLOCK, HEAD_K - j0); j++) { acc[r] += tt[j * PITCH + d] * st[(j0 + j) * GROUPS + g4]; }
          }
        }
      }
      workgroupBarrier();
      for (var r = 0; r < OUT_PER; r++) {
        let e = tid + r * WG;
        if (e < HEAD_K * GROUPS) { st[e] = acc[r]; }
      }
      workgroupBarrier();
    }
  }
`;
  }
}
