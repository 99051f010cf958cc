import { defineOp, type HostTensor, scalarUniforms, type Tensor } from '@tessera/tensor-core';
import { compactKernel, transposeListsKernel } from './kernel.js';
import { compactReference, sparsityReference, transposeListsReference } from './reference.js';
import { SparsityProgram } from './sparsity.program.js';

/** `[kvIdx, kvNum]` of a block mask `[B, H, Nq, Nk]` (nonzero = kept), in typed arrays. */
export function compactHost(mask: HostTensor): HostTensor[] {
  const [b, h, nq, nk] = mask.shape as [number, number, number, number];
  const m = mask.values;
  const rows = b * h * nq;
  const kvIdx = new Int32Array(rows * nk).fill(-1);
  const kvNum = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let j = 0; j < nk; j++) if (m[r * nk + j] !== 0) kvIdx[r * nk + n++] = j;
    kvNum[r] = n;
  }
  return [
    { shape: [b, h, nq, nk], dtype: 'int32', values: kvIdx },
    { shape: [b, h, nq], dtype: 'int32', values: kvNum },
  ];
}

/** `[qIdx, qNum]`, the transpose, of kvIndices `[B, H, Nq, Nk]` (ascending, −1 after the kept blocks), in typed arrays. */
export function transposeListsHost(kvIdxT: HostTensor): HostTensor[] {
  const [b, h, nq, nk] = kvIdxT.shape as [number, number, number, number];
  const kvIdx = kvIdxT.values;
  const heads = b * h;
  const qIdx = new Int32Array(heads * nk * nq).fill(-1);
  const qNum = new Int32Array(heads * nk);
  for (let bh = 0; bh < heads; bh++) {
    // rows in ascending i, so each column's list comes out ascending
    for (let i = 0; i < nq; i++) {
      const row = (bh * nq + i) * nk;
      for (let s = 0; s < nk; s++) {
        const j = kvIdx[row + s] as number;
        if (j < 0) break;
        const c = bh * nk + j;
        qIdx[c * nq + (qNum[c] as number)] = i;
        qNum[c] = (qNum[c] as number) + 1;
      }
    }
  }
  return [
    { shape: [b, h, nk, nq], dtype: 'int32', values: qIdx },
    { shape: [b, h, nk], dtype: 'int32', values: qNum },
  ];
}

/**
 * A block mask `[B, H, Nq, Nk]` (int32, nonzero = kept) → the forward's lists `[kvIndices, kvNumBlocks]`,
 * computed where the mask lives (two WGSL programs on WebGPU), so no host round trip separates mask
 * construction from the attention kernel. The transpose is `transposeListsOp`'s.
 */
export const compactOp = defineOp<'mask', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraBlockMaskCompact',
  inputs: ['mask'],
  outputs: 2,
  reference: ({ mask }) => compactReference(mask),
  host: ({ mask }) => compactHost(mask),
  hostBackends: ['cpu', 'wasm'],
  webgpu: ({ inputs, run }) => compactKernel(run, inputs.mask),
});

/**
 * kvIndices `[B, H, Nq, Nk]` → `[qIndices [B, H, Nk, Nq], qNumBlocks [B, H, Nk]]`: for each key block the
 * query blocks keeping it, which only the dK/dV backward walks (two WGSL programs on WebGPU). A BlockMask
 * runs it on first access to either list. No gradient (masks are constants).
 */
export const transposeListsOp = defineOp<'kvIdx', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraBlockMaskTranspose',
  inputs: ['kvIdx'],
  outputs: 2,
  reference: ({ kvIdx }) => transposeListsReference(kvIdx),
  host: ({ kvIdx }) => transposeListsHost(kvIdx),
  hostBackends: ['cpu', 'wasm'],
  webgpu: ({ inputs, run }) => transposeListsKernel(run, inputs.kvIdx),
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
