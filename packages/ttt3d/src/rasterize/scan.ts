import type { ProgramUniform, TensorInfo, WebGPUKernelContext } from '@tessera/tensor-core';
import { BINNING_LIMITS } from './binning-limits.js';
import { ScanApplyProgram } from './scan-apply.program.js';
import { ScanReduceProgram } from './scan-reduce.program.js';
import { PLAIN_SCAN, SCAN_BLOCK, type ScanSpec } from './scan.wgsl.js';

/** The part of a WebGPU kernel context the glue needs. */
export type KernelRunner = Pick<WebGPUKernelContext<string, object>, 'run' | 'dispose'>;

/**
 * Exclusive prefix sum of `spec`'s n elements (scan.wgsl.ts; the total last), stored as the spec says: one
 * dispatch when one block covers it, else a block reduce and an apply that finds each block's offset itself, or
 * through a recursive scan of the block sums beyond BINNING_LIMITS.scanFusedMaxBlocks blocks. `base` offsets the plain
 * spec's reads.
 */
export function exclusiveScan(ctx: KernelRunner, spec: ScanSpec, inputs: TensorInfo[], n: number, base = 0): TensorInfo {
  const uniforms: ProgramUniform[] = [n, n + 1, base].map((v) => ({ type: 'int32', data: [v] }));
  const blocks = Math.ceil((n + 1) / SCAN_BLOCK);
  if (blocks === 1) return ctx.run(new ScanApplyProgram(spec, 'single', n), inputs, 'int32', uniforms);
  const sums = ctx.run(new ScanReduceProgram(spec, blocks), inputs, 'int32', uniforms);
  if (blocks <= BINNING_LIMITS.scanFusedMaxBlocks) {
    const out = ctx.run(new ScanApplyProgram(spec, 'fused', n), [...inputs, sums], 'int32', uniforms);
    ctx.dispose(sums);
    return out;
  }
  const offsets = exclusiveScan(ctx, PLAIN_SCAN, [sums], blocks);
  ctx.dispose(sums);
  const out = ctx.run(new ScanApplyProgram(spec, 'offsets', n), [...inputs, offsets], 'int32', uniforms);
  ctx.dispose(offsets);
  return out;
}
