import { type Tensor, tf } from '@tessera/tensor-core';

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

/** `[kvIdx, kvNum, qIdx, qNum]` of an int32 block mask `[B, H, Nq, Nk]` (nonzero = kept) in tfjs ops. */
export function compactReference(mask: Tensor): Tensor[] {
  return tf.tidy(() => {
    const kept = tf.notEqual(mask, 0);
    // transposed as float32 values: tfjs' WebGPU backend casts bool and int32 by relabelling the buffer,
    // and its transpose of a relabelled buffer does not compile
    const ones = tf.where(kept, tf.ones(kept.shape), tf.zeros(kept.shape));
    return [...compactRows(kept), ...compactRows(tf.greater(tf.transpose(ones, [0, 1, 3, 2]), 0))];
  });
}

/** 1 − Σ kvNum / cells: the fraction of dropped blocks, a float32 scalar. */
export function sparsityReference(kvNum: Tensor, cells: number): Tensor {
  return tf.tidy(() => tf.sub(1, tf.div(tf.sum(tf.cast(kvNum, 'float32')), cells)));
}
