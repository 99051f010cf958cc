import { defineOp, gradientThroughReference, type HostTensor, scalarUniforms, type Tensor } from '@tessera/tensor-core';
import { compactHost } from '../block-mask/index.js';
import { blockScoresKernel, selectListsKernel } from './kernel.js';
import { type BlockScoresAttrs, blockScoresReference, type SelectAttrs, selectListsReference, selectReference } from './reference.js';
import { SelectProgram } from './select.program.js';

export type { BlockScoresAttrs, SelectAttrs } from './reference.js';

/**
 * Block probabilities `q [B, H, Lq, D]`, `k [B, H, Lk, D]` → `[B, H, Nq, Nk]` (blockScores): two WGSL
 * programs on WebGPU (block means, then scores and softmax per query block), the tfjs composite on cpu
 * and wasm; differentiable through the composite.
 */
export const blockScoresOp = defineOp<'q' | 'k', BlockScoresAttrs>({
  kernelName: 'TesseraBlockScores',
  inputs: ['q', 'k'],
  reference: ({ q, k }, attrs) => blockScoresReference(q, k, attrs),
  webgpu: blockScoresKernel,
  gradient: gradientThroughReference(['q', 'k'], ({ q, k }, attrs) => blockScoresReference(q, k, attrs)),
});

function selectHost(scores: HostTensor, attrs: SelectAttrs): HostTensor {
  const [rows, n] = scores.shape as [number, number];
  const s = scores.values as Float32Array;
  const out = new Int32Array(rows * n);
  const order = new Array<number>(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    for (let j = 0; j < n; j++) order[j] = j;
    order.sort((a, b) => (s[base + b] as number) - (s[base + a] as number) || a - b);
    // float32 running mass, as the kernels accumulate
    let before = 0;
    order.forEach((j, rank) => {
      const x = s[base + j] as number;
      const keep = x > 0 && (rank < attrs.k || before < attrs.pBefore || Math.fround(before + x) <= attrs.pThrough);
      out[base + j] = keep ? 1 : 0;
      before = Math.fround(before + x);
    });
  }
  return { shape: [rows, n], dtype: 'int32', values: out };
}

/** Block selection over rows of block scores `[R, N]` → int32 `[R, N]` (1 = kept); no gradient (masks are constants). */
export const selectOp = defineOp<'scores', SelectAttrs>({
  kernelName: 'TesseraBlockSelect',
  inputs: ['scores'],
  reference: ({ scores }, attrs) => selectReference(scores, attrs),
  host: ({ scores }, attrs) => selectHost(scores, attrs),
  hostBackends: ['cpu', 'wasm'],
  webgpu: ({ inputs, attrs, run }) => {
    const [rows, cols] = inputs.scores.shape as [number, number];
    const uniforms = [...scalarUniforms('int32', [rows, cols, attrs.k]), ...scalarUniforms('float32', [attrs.pBefore, attrs.pThrough])];
    const out = run(new SelectProgram(rows, cols), [inputs.scores], 'int32', uniforms);
    return { ...out, shape: [rows, cols] };
  },
});

/**
 * Block selection over scores `[B, H, Nq, Nk]` straight to the forward's lists `[kvIdx, kvNum]`
 * (hybridMask, topKMask, topPMask): on WebGPU one program selects, compacts and counts each row (the CDF
 * threshold, pThrough ≥ 0, through the dense selection); no dense mask in between (the BlockMask makes the
 * transpose when it is first asked for). No gradient.
 */
export const selectListsOp = defineOp<'scores', SelectAttrs, Tensor[]>({
  kernelName: 'TesseraBlockSelectLists',
  inputs: ['scores'],
  outputs: 2,
  reference: ({ scores }, attrs) => selectListsReference(scores, attrs),
  host: ({ scores }, attrs) => {
    const [b, h, nq, nk] = scores.shape as [number, number, number, number];
    const kept = selectHost({ ...scores, shape: [b * h * nq, nk] }, attrs);
    return compactHost({ ...kept, shape: [b, h, nq, nk] });
  },
  hostBackends: ['cpu', 'wasm'],
  webgpu: selectListsKernel,
});
