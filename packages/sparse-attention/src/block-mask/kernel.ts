import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { ColumnListsProgram } from './column-lists.program.js';
import { ListCountProgram } from './count.program.js';
import { RowListsProgram } from './row-lists.program.js';

type Run = WebGPUKernelContext<string, unknown>['run'];

/**
 * The forward's lists from kvIndices `[B, H, Nq, Nk]` (made by a kernel, on the GPU): kvNum by counting,
 * one program. Returns `[kvIdx, kvNum]`; kvIdx is the input, passed through. The transpose, which only
 * the backward reads, is `transposeListsKernel`'s, run when a BlockMask is first asked for it.
 */
export function listsFromKvIndices(run: Run, kvIdx: TensorInfo): TensorInfo[] {
  const [b, h, nq, nk] = kvIdx.shape as [number, number, number, number];
  const rows = b * h * nq;
  const flat = { ...kvIdx, shape: [rows * nk] };
  const kvNum = run(new ListCountProgram(rows), [flat], 'int32', scalarUniforms('int32', [rows, nk]));
  return [kvIdx, { ...kvNum, shape: [b, h, nq] }];
}

/** The forward's lists `[kvIdx, kvNum]` of a dense int32 block mask `[B, H, Nq, Nk]`: two programs. */
export function compactKernel(run: Run, mask: TensorInfo): TensorInfo[] {
  const [b, h, nq, nk] = mask.shape as [number, number, number, number];
  const rows = b * h * nq;
  const flat = { ...mask, shape: [rows * nk] };
  const kvIdx = run(new RowListsProgram(rows, nk), [flat], 'int32', scalarUniforms('int32', [rows, nk]));
  return listsFromKvIndices(run, { ...kvIdx, shape: [b, h, nq, nk] });
}

/**
 * kvIndices `[B, H, Nq, Nk]` → the transpose `[qIdx [B, H, Nk, Nq], qNum [B, H, Nk]]` that the dK/dV
 * backward walks: the transposing search, then counting, two programs, no dense mask in between.
 */
export function transposeListsKernel(run: Run, kvIdx: TensorInfo): TensorInfo[] {
  const [b, h, nq, nk] = kvIdx.shape as [number, number, number, number];
  const heads = b * h;
  const flat = { ...kvIdx, shape: [heads * nq * nk] };
  const qIdx = run(new ColumnListsProgram(heads, nq, nk), [flat], 'int32', scalarUniforms('int32', [heads * nk, nq, nk]));
  const qNum = run(new ListCountProgram(heads * nk), [qIdx], 'int32', scalarUniforms('int32', [heads * nk, nq]));
  return [
    { ...qIdx, shape: [b, h, nk, nq] },
    { ...qNum, shape: [b, h, nk] },
  ];
}
