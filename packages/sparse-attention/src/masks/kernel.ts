import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { compactKernel } from '../block-mask/index.js';
import { BlockPoolProgram } from './pool.program.js';
import type { BlockScoresAttrs, SelectAttrs } from './reference.js';
import { BlockScoresProgram } from './scores.program.js';
import { SelectListsProgram } from './select-lists.program.js';
import { SelectProgram } from './select.program.js';

/** blockScores on WebGPU: block means of q and k (one program), then scores and softmax per query block (one). */
export function blockScoresKernel({ inputs, attrs, run, dispose }: WebGPUKernelContext<'q' | 'k', BlockScoresAttrs>): TensorInfo {
  const [b, h, lq, d] = inputs.q.shape as [number, number, number, number];
  const lk = inputs.k.shape[2] as number;
  const { bq, bk } = attrs;
  const heads = b * h;
  const nq = Math.ceil(lq / bq);
  const nk = Math.ceil(lk / bk);
  const pooled = run(
    new BlockPoolProgram(heads, d, nq, nk),
    [inputs.q, inputs.k],
    'float32',
    scalarUniforms('int32', [heads, d, lq, lk, bq, bk, nq, nk]),
  );
  const uniforms = [
    ...scalarUniforms('int32', [heads * nq, heads, d, nq, nk, bq, bk, lq, attrs.causal ? 1 : 0]),
    ...scalarUniforms('float32', [attrs.scale]),
  ];
  const scores = run(new BlockScoresProgram(heads * nq, nk), [pooled], 'float32', uniforms);
  dispose(pooled);
  return { ...scores, shape: [b, h, nq, nk] };
}

/**
 * Selection straight to the forward's lists `[kvIdx, kvNum]` on WebGPU: one program for the rules of hybridMask,
 * topKMask and topPMask (pThrough < 0); with the CDF threshold (pThrough ≥ 0, whose kept set need not be a prefix
 * of the ranking in float32) the dense selection, then its compaction and counts (three).
 */
export function selectListsKernel({ inputs, attrs, run, runOutputs, dispose }: WebGPUKernelContext<'scores', SelectAttrs>): TensorInfo[] {
  const [b, h, nq, nk] = inputs.scores.shape as [number, number, number, number];
  const rows = b * h * nq;
  const flat = { ...inputs.scores, shape: [rows * nk] };
  if (attrs.pThrough >= 0) {
    const uniforms = [...scalarUniforms('int32', [rows, nk, attrs.k]), ...scalarUniforms('float32', [attrs.pBefore, attrs.pThrough])];
    const kept = run(new SelectProgram(rows, nk), [flat], 'int32', uniforms);
    const lists = compactKernel(run, { ...kept, shape: [b, h, nq, nk] });
    dispose(kept);
    return lists;
  }
  const width = 2 ** Math.ceil(Math.log2(nk));
  const uniforms = [...scalarUniforms('int32', [rows, nk, width, attrs.k]), ...scalarUniforms('float32', [attrs.pBefore])];
  const [kvIdx, kvNum] = runOutputs(
    new SelectListsProgram(rows, width),
    [flat],
    [
      { shape: [b, h, nq, nk], dtype: 'int32' },
      { shape: [b, h, nq], dtype: 'int32' },
    ],
    uniforms,
  ) as [TensorInfo, TensorInfo];
  return [kvIdx, kvNum];
}
