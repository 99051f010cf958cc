import { defineOp, type HostTensor, scalarUniforms, type Tensor } from '@tessera/tensor-core';
import { compactKernel } from './kernel.js';
import { compactReference, sparsityReference } from './reference.js';
import { SparsityProgram } from './sparsity.program.js';

/** `[kvIdx, kvNum, qIdx, qNum]` of a block mask `[B, H, Nq, Nk]` (nonzero = kept), in typed arrays. */
export function compactHost(mask: HostTensor): HostTensor[] {
  const [b, h, nq, nk] = mask.shape as [number, number, number, number];
  const m = mask.values;
  const heads = b * h;
  const kvIdx = new Int32Array(heads * nq * nk).fill(-1);
  const kvNum = new Int32Array(heads * nq);
  const qIdx = new Int32Array(heads * nk * nq).fill(-1);
  const qNum = new Int32Array(heads * nk);
  for (let bh = 0; bh < heads; bh++) {
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < nk; j++) {
        if (m[(bh * nq + i) * nk + j] === 0) continue;
        const r = bh * nq + i;
        kvIdx[r * nk + (kvNum[r] as number)] = j;
        kvNum[r] = (kvNum[r] as number) + 1;
        const c = bh * nk + j;
        qIdx[c * nq + (qNum[c] as number)] = i;
        qNum[c] = (qNum[c] as number) + 1;
      }
    }
  }
  return [
    { shape: [b, h, nq, nk], dtype: 'int32', values: kvIdx },
    { shape: [b, h, nq], dtype: 'int32', values: kvNum },
    { shape: [b, h, nk, nq], dtype: 'int32', values: qIdx },
    { shape: [b, h, nk], dtype: 'int32', values: qNum },
  ];
}

/**
 * A block mask `[B, H, Nq, Nk]` (int32, nonzero = kept) → FlexAttention's lists
 * `[kvIndices, kvNumBlocks, qIndices, qNumBlocks]`, computed where the mask lives (four WGSL programs on
 * WebGPU, one per list), so no host round trip separates mask construction from the attention kernel.
 */
export const compactOp = defineOp<'mask', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraBlockMaskCompact',
  inputs: ['mask'],
  outputs: 4,
  reference: ({ mask }) => compactReference(mask),
  host: ({ mask }) => compactHost(mask),
  hostBackends: ['cpu', 'wasm'],
  webgpu: ({ inputs, run }) => compactKernel(run, inputs.mask),
});

export interface SparsityAttrs {
  /** B·H·Nq·Nk: the blocks of the grid. */
  cells: number;
}

/** 1 − Σ kvNum / cells, a float32 scalar: one WGSL program on WebGPU (the reference elsewhere). */
export const sparsityOp = defineOp<'kvNum', SparsityAttrs>({
  kernelName: 'TesseraBlockMaskSparsity',
  inputs: ['kvNum'],
  reference: ({ kvNum }, { cells }) => sparsityReference(kvNum, cells),
  webgpu: ({ inputs, attrs, run }) => {
    const uniforms = [
      ...scalarUniforms('int32', [inputs.kvNum.shape.reduce((a, b) => a * b, 1)]),
      ...scalarUniforms('float32', [attrs.cells]),
    ];
    const out = run(new SparsityProgram(), [inputs.kvNum], 'float32', uniforms);
    return { ...out, shape: [] };
  },
});
