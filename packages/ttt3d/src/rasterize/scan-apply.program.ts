import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import type { DataType } from '@tessera/tensor-core';
import { SCAN_BLOCK, SCAN_THREADS, SCAN_UNIFORMS, SCAN_WGSL } from './scan.wgsl.js';

/**
 * Scan level 2: workgroup b writes the exclusive prefix sums of its 1024 elements plus the block's offset
 * (`blockOffsets[b]`, the exclusive scan of the level-1 sums; absent when one block covers everything).
 */
export class ScanApplyProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [SCAN_THREADS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = SCAN_UNIFORMS;
  private readonly withOffsets: boolean;

  constructor(m: number, dtype: DataType, withOffsets: boolean) {
    this.outputShape = [m];
    this.withOffsets = withOffsets;
    this.variableNames = withOffsets ? ['x', 'blockOffsets'] : ['x'];
    this.shaderKey = `tessera_gs_scan_apply_${dtype}_${withOffsets}_${SCAN_BLOCK}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(m / SCAN_BLOCK)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${SCAN_WGSL}
  fn main(index : i32) {
    let b = i32(linearWorkgroupIndex());
    let base = b * ${SCAN_BLOCK} + i32(localIndex) * SCAN_ITEMS;
    var items = array<i32, SCAN_ITEMS>();
    var sum = 0;
    for (var k = 0; k < SCAN_ITEMS; k++) {
      items[k] = element(base + k);
      sum += items[k];
    }
    var run = workgroupExclusiveSum(sum) + ${this.withOffsets ? 'blockOffsets[b]' : '0'};
    for (var k = 0; k < SCAN_ITEMS; k++) {
      if (base + k < uniforms.m) { result[base + k] = run; }
      run += items[k];
    }
  }
`;
  }
}
