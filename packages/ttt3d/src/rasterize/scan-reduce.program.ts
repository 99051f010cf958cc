import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { SCAN_BLOCK, SCAN_THREADS, SCAN_UNIFORMS, type ScanSpec, scanWGSL } from './scan.wgsl.js';

/** Scan level 1: workgroup b writes the sum of elements [b·1024, (b+1)·1024) of the sequence (scan.wgsl.ts). */
export class ScanReduceProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [SCAN_THREADS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = SCAN_UNIFORMS;
  private readonly spec: ScanSpec;

  constructor(spec: ScanSpec, blocks: number) {
    this.spec = spec;
    this.variableNames = spec.variables;
    this.outputShape = [blocks];
    this.shaderKey = `tessera_gs_scan_reduce_${spec.key}_${SCAN_BLOCK}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, blocks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${scanWGSL(this.spec)}
  fn main(index : i32) {
    let b = i32(linearWorkgroupIndex());
    let base = b * ${SCAN_BLOCK} + i32(localIndex) * SCAN_ITEMS;
    var sum = 0;
    for (var k = 0; k < SCAN_ITEMS; k++) { sum += elementOrZero(base + k); }
    let before = workgroupExclusiveSum(sum);
    if (localIndex == ${SCAN_THREADS - 1}u) { result[b] = before + sum; }
  }
`;
  }
}
