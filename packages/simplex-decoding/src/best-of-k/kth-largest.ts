import { defineOp, type HostTensor, scalarUniforms, tf } from '@tessera/tensor-core';
import { KthLargestProgram } from './kth-largest.program.js';

interface KthAttrs {
  k: number;
}

function kthLargestHost({ x }: Record<'x', HostTensor>, { k }: KthAttrs): HostTensor {
  const [rows, cols] = x.shape as [number, number];
  const src = x.values as Float32Array;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = src.slice(r * cols, (r + 1) * cols).sort();
    out[r] = row[cols - k] as number;
  }
  return { shape: [rows, 1], dtype: 'float32', values: out };
}

/**
 * The k-th largest value of each row, counting repeats (as `tf.topk(x, k).values[:, k − 1]`):
 * `x: [B, V]` float32, 1 ≤ k ≤ V → `[B, 1]`. A sort-free radix select on WebGPU, a typed-array kernel on
 * CPU, tf.topk elsewhere. Rows containing NaN give an unspecified value.
 */
export const kthLargestOp = defineOp<'x', KthAttrs>({
  kernelName: 'TesseraRowKthLargest',
  inputs: ['x'],
  reference: ({ x }, { k }) => tf.tidy(() => tf.slice(tf.topk(x, k).values, [0, k - 1], [-1, 1])),
  host: kthLargestHost,
  webgpu: ({ inputs, attrs, run }) => {
    const [rows, cols] = inputs.x.shape as [number, number];
    return run(new KthLargestProgram(rows), [inputs.x], 'float32', scalarUniforms('int32', [cols, attrs.k]));
  },
});
