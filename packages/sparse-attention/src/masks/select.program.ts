import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { UNIFORM_LINE_WGSL } from '../block-mask/lists.wgsl.js';
import { selectRuleWgsl } from './select.wgsl.js';

const WG = 256;
/** Longest row the program holds in workgroup memory (16 KiB). */
export const SELECT_MAX_COLS = 4096;

/**
 * The block-selection rules of SpargeAttention2 and SpargeAttn (`keepBlock`, select.wgsl.ts) in one
 * sort-free pass, one workgroup per row of `scores [R, N]` (block probabilities, held in workgroup
 * memory): each thread ranks N/256 blocks against the whole row, O(N²) compares per row, a few µs for
 * N ≤ 1024, with no host round trip. Output int32 `[R, N]`, 1 = kept: the dense form that the SpargeAttn
 * v1 and Twilight masks combine with other rules (hybridMask goes straight to lists, SelectListsProgram).
 */
export class SelectProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_select_${WG}_${SELECT_MAX_COLS}`;
  variableNames = ['scores'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'lines : i32, cols : i32, k : i32, pBefore : f32, pThrough : f32,';

  constructor(rows: number, cols: number) {
    this.outputShape = [rows * cols];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_LINE_WGSL}
  var<workgroup> row : array<f32, ${SELECT_MAX_COLS}>;
  ${selectRuleWgsl((i) => `row[${i}]`)}
  fn main(index : i32) {
    let r = uniformLine();
    if (r >= uniforms.lines) { return; }
    let tid = i32(localIndex);
    let n = uniforms.cols;
    for (var j = tid; j < n; j += ${WG}) { row[j] = scores[r * n + j]; }
    workgroupBarrier();
    for (var j = tid; j < n; j += ${WG}) { result[r * n + j] = select(0, 1, keepBlock(j, n)); }
  }
`;
  }
}
