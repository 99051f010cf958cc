import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { compactLineWgsl, UNIFORM_LINE_WGSL } from '../block-mask/lists.wgsl.js';
import { SELECT_MAX_COLS } from './select.program.js';
import { selectRuleWgsl } from './select.wgsl.js';

const WG = 256;

/**
 * Selection and compaction in one pass: one workgroup per row of `scores [R = B·H·Nq, Nk]` holds the row
 * in workgroup memory, decides each block by the selection rule (`keepBlock`, select.wgsl.ts) and writes
 * the kept blocks ascending, then −1 (`compactLine`): the row of kvIndices, with no dense mask between.
 * The row is held as f32 bits in u32 so that, once every block is decided (Nk ≤ 4096 = one pass of
 * `compactLine`), its first 256 words serve as the prefix-sum counts: 16 KiB of workgroup memory in all,
 * WebGPU's guaranteed limit. Output int32 `[R, Nk]`.
 */
export class SelectListsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_select_lists_${WG}_${SELECT_MAX_COLS}`;
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
  var<workgroup> row : array<u32, ${SELECT_MAX_COLS}>;
  ${selectRuleWgsl((i) => `bitcast<f32>(row[${i}])`)}
  fn kept(line : i32, j : i32) -> bool { return keepBlock(j, uniforms.cols); }
  ${compactLineWgsl(WG, 'row')}
  fn main(index : i32) {
    let line = uniformLine();
    if (line >= uniforms.lines) { return; }
    let n = uniforms.cols;
    for (var j = i32(localIndex); j < n; j += ${WG}) { row[j] = bitcast<u32>(scores[line * n + j]); }
    workgroupBarrier();
    compactLine(line, n);
  }
`;
  }
}
