import { type Tensor, tf } from '@tessera/tensor-core';
import { boolToFloat } from '../bool-to-float.js';

/** Ascending kept indices of each row of `kept [..., N]` (bool), −1 after them, and their count. */
function compactRows(kept: Tensor): [Tensor, Tensor] {
  return tf.tidy(() => {
    const n = kept.shape[kept.rank - 1] as number;
    const count = tf.sum(tf.cast(kept, 'int32'), -1);
    // kept blocks first, each group in index order: the largest keys are −j (kept) and −N − j (dropped)
    const position = tf.range(0, n, 1, 'float32');
    const key = tf.neg(tf.where(kept, position, tf.add(position, n)));
    const order = tf.topk(key, n).indices;
    const slot = tf.range(0, n, 1, 'int32');
    const indices = tf.where(tf.less(slot, tf.expandDims(count, -1)), order, tf.fill(order.shape, -1, 'int32'));
    return [indices, count];
  });
}

/** `[kvIdx, kvNum]` of an int32 block mask `[B, H, Nq, Nk]` (nonzero = kept) in tfjs ops. */
export function compactReference(mask: Tensor): Tensor[] {
  return tf.tidy(() => compactRows(tf.notEqual(mask, 0)));
}

/** `[qIdx, qNum]`, the transpose, of kvIndices `[B, H, Nq, Nk]` (ascending, −1 after the kept blocks) in tfjs ops. */
export function transposeListsReference(kvIdx: Tensor): Tensor[] {
  return tf.tidy(() => {
    const [b, h, nq, nk] = kvIdx.shape as [number, number, number, number];
    // entry (i, j) of the dense mask: does row i list j (padding −1 matches nothing); rank 3, where tfjs'
    // WebGPU kernels stop at rank 4
    const blocks = tf.reshape(tf.range(0, nk, 1, 'int32'), [1, 1, nk]);
    const hits = boolToFloat(tf.equal(tf.reshape(kvIdx, [b * h * nq, nk, 1]), blocks));
    // transposed as float32 values: tfjs' WebGPU backend casts bool and int32 by relabelling the buffer,
    // and its transpose of a relabelled buffer does not compile
    const dense = tf.reshape(tf.sum(hits, 1), [b, h, nq, nk]);
    return compactRows(tf.greater(tf.transpose(dense, [0, 1, 3, 2]), 0));
  });
}

/** 1 − Σ kvNum / cells: the fraction of dropped blocks, a float32 scalar. */
export function sparsityReference(kvNum: Tensor, cells: number): Tensor {
  return tf.tidy(() => tf.sub(1, tf.div(tf.sum(tf.cast(kvNum, 'float32')), cells)));
}
