import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { SCAN_BLOCK, SCAN_THREADS, SCAN_UNIFORMS, type ScanSpec, scanWGSL } from './scan.wgsl.js';

/**
 * Where a scan block's offset comes from: 'single' — one block covers everything, no offset; 'fused' — `sums` holds
 * the level-1 block sums (scan-reduce.program.ts) and workgroup b adds up sums[0 … b) itself, sparing a scan of
 * the sums (a dispatch) while the block count is small; 'offsets' — `sums` holds their exclusive scan.
 */
export type ScanOffsets = 'single' | 'fused' | 'offsets';

/** Scan level 2: workgroup b stores the exclusive prefix sums of its 1024 elements plus the block's offset. */
export class ScanApplyProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [SCAN_THREADS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = SCAN_UNIFORMS;
  private readonly spec: ScanSpec;
  private readonly offsets: ScanOffsets;

  constructor(spec: ScanSpec, offsets: ScanOffsets, n: number) {
    this.spec = spec;
    this.offsets = offsets;
    this.variableNames = offsets === 'single' ? spec.variables : [...spec.variables, 'sums'];
    this.shaderKey = `tessera_gs_scan_apply_${spec.key}_${offsets}_${SCAN_BLOCK}`;
    this.outputShape = [spec.outputSize(n)];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((n + 1) / SCAN_BLOCK)));
  }

  private blockOffsetWGSL(): string {
    if (this.offsets === 'single') return 'let blockOffset = 0;';
    if (this.offsets === 'offsets') return 'let blockOffset = sums[b];';
    return `
    if (localIndex == 0u) { atomicStore(&blockSum, 0); }
    workgroupBarrier();
    var part = 0;
    for (var c = i32(localIndex); c < b; c += SCAN_THREADS) { part += sums[c]; }
    atomicAdd(&blockSum, part);
    workgroupBarrier();
    let blockOffset = atomicLoad(&blockSum);`;
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${scanWGSL(this.spec)}
  ${this.offsets === 'fused' ? 'var<workgroup> blockSum : atomic<i32>;' : ''}
  fn main(index : i32) {
    let b = i32(linearWorkgroupIndex());
    let base = b * ${SCAN_BLOCK} + i32(localIndex) * SCAN_ITEMS;
    ${this.blockOffsetWGSL()}
    var items = array<i32, SCAN_ITEMS>();
    var sum = 0;
    for (var k = 0; k < SCAN_ITEMS; k++) {
      items[k] = elementOrZero(base + k);
      sum += items[k];
    }
    var run = workgroupExclusiveSum(sum) + blockOffset;
    for (var k = 0; k < SCAN_ITEMS; k++) {
      if (base + k < uniforms.m) { store(base + k, run); }
      run += items[k];
    }
  }
`;
  }
}
