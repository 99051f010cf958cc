import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { GROUP_SEGMENTS, SEGMENT } from './layout.js';
import type { WeightSource } from './weight-source.js';

/**
 * Pass 1 of the blocked inverse CDF: workgroup (row, group) sums its 4096 tokens' weights, each thread a
 * 16-token segment left to right, then a pairwise tree over the 256 segment sums (layout.ts), into
 * `result: [B, groups]`. All rows and groups run in parallel. A group holding a weight that no
 * distribution has (negative, NaN or +∞) writes −1, which no sum of valid weights can be, and
 * `InverseCdfProgram` gives its row (−1, NaN).
 */
export class GroupSumsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [GROUP_SEGMENTS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms: string;
  private readonly source: WeightSource;

  constructor(rows: number, groups: number, source: WeightSource) {
    this.source = source;
    this.outputShape = [rows, groups];
    this.variableNames = [...source.variableNames];
    this.uniforms = `cols : i32, groups : i32, ${source.uniforms}`;
    this.shaderKey = `tessera_cdf_group_sums_${source.key}_${SEGMENT}_${GROUP_SEGMENTS}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * groups));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${this.source.wgsl}
  var<workgroup> partial : array<f32, ${GROUP_SEGMENTS}>;
  var<workgroup> badWeight : array<u32, ${GROUP_SEGMENTS}>;

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let row = wg / uniforms.groups;
    let group = wg % uniforms.groups;
    let start = group * ${SEGMENT * GROUP_SEGMENTS} + i32(localIndex) * ${SEGMENT};
    let end = min(start + ${SEGMENT}, uniforms.cols);
    var acc = 0.0;
    var bad = 0u;
    for (var i = start; i < end; i++) {
      let w = weight(row, i);
      // the bits, not w < 0 alone: a shader compiler may assume comparisons never see NaN or +∞
      if (isnan(w) || bitcast<u32>(w) == 0x7f800000u || w < 0.0) {
        bad = 1u;
      }
      acc = acc + w;
    }
    partial[localIndex] = acc;
    badWeight[localIndex] = bad;
    workgroupBarrier();
    for (var stride = ${GROUP_SEGMENTS / 2}u; stride > 0u; stride = stride >> 1u) {
      if (localIndex < stride) {
        partial[localIndex] = partial[localIndex] + partial[localIndex + stride];
        badWeight[localIndex] = badWeight[localIndex] | badWeight[localIndex + stride];
      }
      workgroupBarrier();
    }
    if (localIndex == 0u) {
      result[wg] = select(partial[0], -1.0, badWeight[0] != 0u);
    }
  }
`;
  }
}
