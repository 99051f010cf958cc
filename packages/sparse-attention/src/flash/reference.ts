import { type Tensor, tf } from '@tessera/tensor-core';
import { boolToFloat } from '../bool-to-float.js';

/** Attributes of the flash op: dense or block-sparse, causal, the score scale and (sparse) block sizes. */
export interface FlashAttrs {
  causal: boolean;
  sparse: boolean;
  scale: number;
  bq: number;
  bk: number;
}

/** The flash op's tensors: q `[B, H, Lq, D]`, k, v `[B, H, Lk, D]`, and the BlockMask lists (ignored when dense). */
export type FlashInput = 'q' | 'k' | 'v' | 'kvNum' | 'kvIdx' | 'qNum' | 'qIdx';

/**
 * The block mask as booleans `[B, H, Nq, Nk]` from FlexAttention's lists: entry (i, j) is kept when j
 * is among the first `kvNum[i]` entries of `kvIdx[i]`.
 */
export function blockMaskFromLists(kvNum: Tensor, kvIdx: Tensor, nk: number): Tensor {
  return tf.tidy(() => {
    const width = kvIdx.shape[3] as number;
    const slot = tf.range(0, width, 1, 'int32');
    const valid = tf.less(tf.reshape(slot, [1, 1, 1, width]), tf.expandDims(kvNum, -1));
    // an equality test rather than tf.oneHot, which rejects a depth of 1 (a single key block); padding (−1) matches nothing
    const blocks = tf.reshape(tf.range(0, nk, 1, 'int32'), [1, 1, 1, 1, nk]);
    const hits = tf.logicalAnd(tf.equal(tf.expandDims(kvIdx, -1), blocks), tf.expandDims(valid, -1));
    // rank 3: tfjs' WebGPU where stops at rank 4
    const [b, h, nq] = kvIdx.shape as [number, number, number];
    const counts = tf.sum(boolToFloat(tf.reshape(hits, [b * h * nq, width, nk])), 1);
    return tf.reshape(tf.greater(counts, 0), [b, h, nq, nk]);
  });
}

/** Which positions of a `[Lq, Lk]` score matrix the op lets through, `[B or 1, H or 1, Lq, Lk]` booleans (null: all). */
export function visibleScores(t: Record<FlashInput, Tensor>, attrs: FlashAttrs): Tensor | null {
  const lq = t.q.shape[2] as number;
  const lk = t.k.shape[2] as number;
  if (!attrs.sparse && !attrs.causal) return null;
  return tf.tidy(() => {
    let visible: Tensor | null = null;
    if (attrs.sparse) {
      const nk = Math.ceil(lk / attrs.bk);
      const blocks = blockMaskFromLists(t.kvNum, t.kvIdx, nk);
      const rowBlock = tf.floorDiv(tf.range(0, lq, 1, 'int32'), tf.scalar(attrs.bq, 'int32'));
      const colBlock = tf.floorDiv(tf.range(0, lk, 1, 'int32'), tf.scalar(attrs.bk, 'int32'));
      visible = tf.gather(tf.gather(blocks, rowBlock, 2), colBlock, 3);
    }
    if (attrs.causal) {
      const row = tf.reshape(tf.range(0, lq, 1, 'int32'), [lq, 1]);
      const col = tf.reshape(tf.range(0, lk, 1, 'int32'), [1, lk]);
      const tri = tf.reshape(tf.lessEqual(col, row), [1, 1, lq, lk]);
      visible = visible === null ? tri : tf.logicalAnd(visible, tri);
    }
    return visible as Tensor;
  });
}

/**
 * Attention as tfjs composes it — the oracle of the flash kernels: softmax(scale · QKᵀ + bias) V with
 * bias −∞ where `visibleScores` hides a score (future keys when causal, dropped blocks when sparse). A
 * row with no visible key gives output 0 and log-sum-exp −∞. Returns `[output [B, H, Lq, D], lse [B, H, Lq]]`,
 * differentiable in q, k, v (the mask is a constant).
 */
export function flashReference(t: Record<FlashInput, Tensor>, attrs: FlashAttrs): Tensor[] {
  return tf.tidy(() => {
    let s = tf.mul(tf.matMul(t.q, t.k, false, true), tf.scalar(attrs.scale));
    const visible = visibleScores(t, attrs);
    // conditions come from the mask alone: tfjs has no gradient for comparisons on the autodiff path
    let nonEmpty: Tensor | null = null;
    if (visible !== null) {
      const bias = tf.where(visible, tf.zeros(visible.shape), tf.fill(visible.shape, Number.NEGATIVE_INFINITY));
      s = tf.add(s, bias);
      nonEmpty = tf.any(visible, -1, true);
    }
    const m = tf.max(s, -1, true);
    const mSafe = nonEmpty === null ? m : tf.where(nonEmpty, m, tf.zerosLike(m));
    const e = tf.exp(tf.sub(s, mSafe));
    const l = tf.sum(e, -1, true);
    const lSafe = nonEmpty === null ? l : tf.where(nonEmpty, l, tf.onesLike(l));
    const output = tf.matMul(tf.div(e, lSafe), t.v);
    let lse = tf.add(mSafe, tf.log(lSafe));
    if (nonEmpty !== null) lse = tf.where(nonEmpty, lse, tf.fill(lse.shape, Number.NEGATIVE_INFINITY));
    return [output, tf.squeeze(lse, [-1])];
  });
}
