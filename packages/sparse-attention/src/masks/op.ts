import { defineOp, type HostTensor, scalarUniforms, type Tensor, tf } from '@tessera/tensor-core';
import { SelectProgram } from './select.program.js';

/**
 * One selection rule (SelectProgram): keep block j of a row when its score is positive and its rank
 * (descending, ties to the lower index) is below `k`, or the mass ranked before it is below `pBefore`,
 * or that mass plus its own is at most `pThrough`. Disable a clause with k = 0, pBefore = 0, pThrough < 0.
 */
export interface SelectAttrs {
  k: number;
  pBefore: number;
  pThrough: number;
}

/** The rule through a sort (tf.topk) and a cumulative sum: the oracle. `[R, N] → [R, N]` int32. */
function selectReference(scores: Tensor, attrs: SelectAttrs): Tensor {
  return tf.tidy(() => {
    const n = scores.shape[1] as number;
    const { values, indices } = tf.topk(scores, n);
    const before = tf.sub(tf.cumsum(values, 1), values);
    const position = tf.range(0, n, 1, 'int32');
    const keepSorted = tf.logicalAnd(
      tf.greater(values, 0),
      tf.logicalOr(
        tf.logicalOr(tf.less(position, attrs.k), tf.less(before, attrs.pBefore)),
        tf.lessEqual(tf.add(before, values), attrs.pThrough),
      ),
    );
    // back to block order: the sorted position of block j
    const inverse = tf.topk(tf.neg(tf.cast(indices, 'float32')), n).indices;
    return tf.cast(tf.gather(tf.cast(keepSorted, 'int32'), inverse, 1, 1), 'int32');
  });
}

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
    const uniforms = [...scalarUniforms('int32', [cols, attrs.k]), ...scalarUniforms('float32', [attrs.pBefore, attrs.pThrough])];
    const out = run(new SelectProgram(rows, cols), [inputs.scores], 'int32', uniforms);
    return { ...out, shape: [rows, cols] };
  },
});
