import { scalarUniforms, splitRowChunk, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import type { TopRAttrs } from './op.js';
import { chunkRecordWidth, TopRChunkProgram } from './top-r-chunk.program.js';
import { TopRMergeProgram } from './top-r-merge.program.js';
import { TopRWriteProgram } from './top-r-write.program.js';

/**
 * The chunk lives in registers (chunk/256 floats per thread), so it is capped lower than softmax's: on the
 * H100, 256×131072 took 1.68 ms with 8192-element chunks (32 floats per thread) and 0.67 ms with 4096.
 */
const MAX_REGISTER_CHUNK = 4096;

/**
 * The WebGPU kernel of `bokTopROp`: per (row, chunk) the chunk records (`TopRChunkProgram`), per row the
 * merge and the J steps on R (`TopRMergeProgram`), per (row, chunk) the write of q (`TopRWriteProgram`),
 * each intermediate freed as soon as the next pass has read it.
 */
export function topRWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<'x', TopRAttrs>): TensorInfo {
  const { x } = inputs;
  const [rows, cols] = x.shape as [number, number];
  const { k, lambda, betaBar, eta, steps, temperature, r } = attrs;
  const chunk = splitRowChunk(rows, cols, MAX_REGISTER_CHUNK);
  const chunks = Math.ceil(cols / chunk);
  const recordWidth = chunkRecordWidth(steps, r);
  const invT = 1 / temperature;
  const decay = 1 - eta * lambda;
  const gain = eta * (1 + lambda);
  const records = run(new TopRChunkProgram(rows, chunk, chunks, steps, r), [x], 'float32', [
    ...scalarUniforms('int32', [cols, chunks, r, steps, recordWidth]),
    ...scalarUniforms('float32', [invT, decay, gain]),
  ]);
  const step = scalarUniforms('float32', [invT, lambda, eta, betaBar * k, k - 1, decay, gain]);
  const solved = run(new TopRMergeProgram(rows, steps), [records], 'float32', [
    ...scalarUniforms('int32', [chunks, r, steps, recordWidth]),
    ...step,
  ]);
  dispose(records);
  const q = run(new TopRWriteProgram(rows, cols, chunks), [x, solved], 'float32', [
    ...scalarUniforms('int32', [cols, chunk, chunks, steps]),
    ...step,
  ]);
  dispose(solved);
  return q;
}
