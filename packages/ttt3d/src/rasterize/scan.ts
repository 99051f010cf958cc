import type { TensorInfo, WebGPUKernelContext } from '@tessera/tensor-core';
import { ScanApplyProgram } from './scan-apply.program.js';
import { ScanReduceProgram } from './scan-reduce.program.js';
import { SCAN_BLOCK } from './scan.wgsl.js';

/** The part of a WebGPU kernel context the glue needs. */
export type KernelRunner = Pick<WebGPUKernelContext<string, object>, 'run' | 'dispose'>;

/**
 * Exclusive prefix sum (int32 `[n + 1]`, the total last) of x[i·stride + offset], i < n, by a two-level
 * block scan applied recursively to the block sums.
 */
export function exclusiveScan(ctx: KernelRunner, x: TensorInfo, n: number, stride = 1, offset = 0): TensorInfo {
  const m = n + 1;
  const uniforms = [n, stride, offset, m].map((v) => ({ type: 'int32' as const, data: [v] }));
  const blocks = Math.ceil(m / SCAN_BLOCK);
  if (blocks === 1) return ctx.run(new ScanApplyProgram(m, x.dtype, false), [x], 'int32', uniforms);
  const sums = ctx.run(new ScanReduceProgram(blocks, x.dtype), [x], 'int32', uniforms);
  const sumOffsets = exclusiveScan(ctx, sums, blocks);
  ctx.dispose(sums);
  const out = ctx.run(new ScanApplyProgram(m, x.dtype, true), [x, sumOffsets], 'int32', uniforms);
  ctx.dispose(sumOffsets);
  return out;
}
