import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { ColumnListsProgram } from './column-lists.program.js';
import { ListCountProgram } from './count.program.js';
import { RowListsProgram } from './row-lists.program.js';

type Run = WebGPUKernelContext<string, unknown>['run'];

/**
 * FlexAttention's four lists from kvIndices `[B, H, Nq, Nk]` (made by a kernel, on the GPU): kvNum by
 * counting, qIdx by the transposing search, qNum by counting again — three programs, no copies. Returns
 * `[kvIdx, kvNum, qIdx, qNum]`; kvIdx is the input, passed through.
 */
export function listsFromKvIndices(run: Run, kvIdx: TensorInfo): TensorInfo[] {
  const [b, h, nq, nk] = kvIdx.shape as [number, number, number, number];
  const heads = b * h;
  const flat = { ...kvIdx, shape: [heads * nq * nk] };
  const kvNum = run(new ListCountProgram(heads * nq), [flat], 'int32', scalarUniforms('int32', [heads * nq, nk]));
  const qIdx = run(new ColumnListsProgram(heads, nq, nk), [flat], 'int32', scalarUniforms('int32', [heads * nk, nq, nk]));
  const qNum = run(new ListCountProgram(heads * nk), [qIdx], 'int32', scalarUniforms('int32', [heads * nk, nq]));
  return [kvIdx, { ...kvNum, shape: [b, h, nq] }, { ...qIdx, shape: [b, h, nk, nq] }, { ...qNum, shape: [b, h, nk] }];
}

/** The lists of a dense int32 block mask `[B, H, Nq, Nk]`: four programs. */
export function compactKernel(run: Run, mask: TensorInfo): TensorInfo[] {
  const [b, h, nq, nk] = mask.shape as [number, number, number, number];
  const rows = b * h * nq;
  const flat = { ...mask, shape: [rows * nk] };
  const kvIdx = run(new RowListsProgram(rows, nk), [flat], 'int32', scalarUniforms('int32', [rows, nk]));
  return listsFromKvIndices(run, { ...kvIdx, shape: [b, h, nq, nk] });
}
