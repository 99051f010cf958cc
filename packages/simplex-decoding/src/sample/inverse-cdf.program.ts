import type { WebGPUOutputsProgram } from '@tessera/tensor-core';
import { DRAW_MAIN_WGSL, DRAW_OUTPUT_NAMES, DRAW_UNIFORM_FIELDS } from './draw-output.js';
import { GROUP_SEGMENTS, SEGMENT } from './layout.js';
import { ROW_UNIFORM_FIELDS, ROW_UNIFORM_WGSL } from './row-uniform.wgsl.js';
import type { WeightSource } from './weight-source.js';

/**
 * Pass 2 of the blocked inverse CDF (blocked-cdf.ts is the same algorithm on the host, operation for
 * operation): one workgroup per row; thread 0 adds the group sums left to right to find the group whose
 * prefix first exceeds u·Σw, u the row's uniform drawn here (`rowUniform`, the Philox stream), the workgroup
 * recomputes that group's 256 segment sums, and thread 0 walks segments and then tokens. Writes both
 * outputs of the draw in one dispatch (draw-output.ts): `ids` int32 `[B]` and `logprobs` = log(w_id / Σw)
 * float32 `[B]`; (−1, NaN) for a row without positive weight or with a group that `GroupSumsProgram` marked
 * invalid (−1). Uniforms: `DRAW_UNIFORM_FIELDS`, cols, groups, the source's, `ROW_UNIFORM_FIELDS`.
 */
export class InverseCdfProgram implements WebGPUOutputsProgram {
  shaderKey: string;
  outputNames = DRAW_OUTPUT_NAMES;
  variableNames: string[];
  workgroupSize = GROUP_SEGMENTS;
  workgroups: number;
  uniforms: string;
  private readonly source: WeightSource;

  constructor(rows: number, source: WeightSource) {
    this.source = source;
    this.workgroups = rows;
    this.variableNames = [...source.variableNames, 'groupSums'];
    this.uniforms = `${DRAW_UNIFORM_FIELDS} cols : i32, groups : i32, ${source.uniforms} ${ROW_UNIFORM_FIELDS}`;
    this.shaderKey = `tessera_cdf_inverse_${source.key}_${SEGMENT}_${GROUP_SEGMENTS}`;
  }

  getUserCode(): string {
    return `
  ${this.source.wgsl}
  ${ROW_UNIFORM_WGSL}
  ${DRAW_MAIN_WGSL}
  var<workgroup> segSums : array<f32, ${GROUP_SEGMENTS}>;
  var<workgroup> chosenGroup : i32;
  var<workgroup> prefix : f32;
  var<workgroup> goalShared : f32;
  var<workgroup> total : f32;

  fn lastPositive(row : i32, start : i32, end : i32) -> i32 {
    for (var i = min(end, uniforms.cols) - 1; i >= start; i--) {
      if (weight(row, i) > 0.0) {
        return i;
      }
    }
    return -1;
  }

  fn drawRow(row : i32) {
    let groups = uniforms.groups;
    if (localIndex == 0u) {
      var sum = 0.0;
      for (var g = 0; g < groups; g++) {
        sum = sum + groupSums[row * groups + g];
      }
      let goal = rowUniform(row) * sum;
      var acc = 0.0;
      var found = -1;
      var lastNonEmpty = -1;
      var badGroup = false;
      for (var g = 0; g < groups; g++) {
        let s = groupSums[row * groups + g];
        badGroup = badGroup || s < 0.0;
        if (s > 0.0) {
          lastNonEmpty = g;
        }
        let next = acc + s;
        if (found < 0 && next > goal) {
          found = g;
        }
        if (found < 0) {
          acc = next;
        }
      }
      // no prefix above the target (round-off at the top end): a prefix of −∞ makes every scan below
      // fail, so the chosen group's last positive token (the row's last) is drawn
      chosenGroup = select(lastNonEmpty, found, found >= 0);
      prefix = select(-uniforms.INFINITY, acc, found >= 0);
      goalShared = goal;
      // a negative total fails the check below: the row gets (−1, NaN)
      total = select(sum, -1.0, badGroup);
    }
    workgroupBarrier();
    let group = max(chosenGroup, 0);
    let start = group * ${SEGMENT * GROUP_SEGMENTS} + i32(localIndex) * ${SEGMENT};
    let end = min(start + ${SEGMENT}, uniforms.cols);
    var segAcc = 0.0;
    for (var i = start; i < end; i++) {
      segAcc = segAcc + weight(row, i);
    }
    segSums[localIndex] = segAcc;
    workgroupBarrier();
    if (localIndex != 0u) {
      return;
    }
    let pre = preset(row);
    if (pre.x != 0.0) {
      writeDraw(row, i32(pre.y), pre.z);
      return;
    }
    let sum = total;
    if (!(sum > 0.0) || sum == uniforms.INFINITY || chosenGroup < 0) {
      writeDraw(row, -1, uniforms.NAN);
      return;
    }
    let goal = goalShared;
    let groupStart = group * ${SEGMENT * GROUP_SEGMENTS};
    var id = -1;
    var acc = prefix;
    for (var t = 0; t < ${GROUP_SEGMENTS}; t++) {
      let next = acc + segSums[t];
      if (next > goal) {
        let segStart = groupStart + t * ${SEGMENT};
        var inner = acc;
        for (var i = segStart; i < min(segStart + ${SEGMENT}, uniforms.cols); i++) {
          inner = inner + weight(row, i);
          if (inner > goal) {
            id = i;
            break;
          }
        }
        if (id < 0) {
          id = lastPositive(row, segStart, segStart + ${SEGMENT});
        }
        break;
      }
      acc = next;
    }
    if (id < 0) {
      id = lastPositive(row, groupStart, groupStart + ${SEGMENT * GROUP_SEGMENTS});
    }
    writeDraw(row, id, log(weight(row, id)) - log(sum));
  }
`;
  }
}
