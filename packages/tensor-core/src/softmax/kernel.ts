import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUKernelContext } from '../op/define-op.js';
import { scalarUniforms } from '../op/webgpu-program.js';
import { NormalizeProgram } from './normalize.program.js';
import { RowStatsProgram } from './row-stats.program.js';

/** Attributes of the softmax ops: logits are divided by `temperature` first (softmax(x / T)). */
export interface SoftmaxAttrs {
  temperature: number;
}

/**
 * Elements per workgroup of a split-row pass over `[rows, cols]`: enough workgroups to fill a large GPU
 * (~2k for 64×128k), at least 1024 so that each thread reduces several elements before the shared-memory
 * tree, at most `maxChunk` (a power of two; kernels that keep their chunk in registers need a lower cap).
 */
export function splitRowChunk(rows: number, cols: number, maxChunk = 8192): number {
  const target = Math.ceil((rows * cols) / 2048);
  let chunk = 1024;
  while (chunk < target && chunk < maxChunk) chunk *= 2;
  return chunk;
}

/**
 * The WebGPU kernel of softmax (`log` false) or log-softmax (`log` true) over `x: [R, C]`: per-chunk row
 * statistics (`RowStatsProgram`), then the normalisation (`NormalizeProgram`), the statistics freed
 * between them. Both reduce with the portable tree: the subgroup variant (`onlineSoftmaxWgsl(true)`) measured
 * 0.92–1.01× the tree on the H100 (bench/softmax.bench.ts, 2026-12-07) and, adding its per-subgroup partials in
 * the order the subgroups finish, is not bit-reproducible from run to run.
 */
export function softmaxWebGPU(log: boolean) {
  return ({ inputs, attrs, run, dispose }: WebGPUKernelContext<'x', SoftmaxAttrs>): TensorInfo => {
    const x = inputs.x;
    const [rows, cols] = x.shape as [number, number];
    const chunk = splitRowChunk(rows, cols);
    const chunks = Math.ceil(cols / chunk);
    const uniforms = [...scalarUniforms('int32', [cols, chunk, chunks]), ...scalarUniforms('float32', [attrs.temperature])];
    const stats = run(new RowStatsProgram(rows, chunks, false), [x], 'float32', uniforms);
    const out = run(new NormalizeProgram(rows, cols, chunks, log, false), [x, stats], 'float32', uniforms);
    dispose(stats);
    return out;
  };
}
