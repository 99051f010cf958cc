import { tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { attention, SparseAttention } from '../src/index.js';
import { uniform } from './cases.js';

describeBackends('SparseAttention layer', () => {
  it('names its parameters as PyTorch does and projects heads around attention', async () => {
    const layer = new SparseAttention({ dModel: 16, heads: 2, mode: 'dense', seed: 3 });
    expect(layer.namedParameters().map(([n, v]) => [n, v.shape])).toEqual([
      ['q_proj.weight', [16, 16]],
      ['k_proj.weight', [16, 16]],
      ['v_proj.weight', [16, 16]],
      ['o_proj.weight', [16, 16]],
    ]);
    const x = uniform([2, 10, 16], 1);
    const { output, sparsity } = layer.forward(x);
    const want = tf.tidy(() => {
      const heads = (w: tf.Tensor) =>
        tf.transpose(tf.reshape(tf.matMul(tf.reshape(x, [20, 16]), w, false, true), [2, 10, 2, 8]), [0, 2, 1, 3]);
      const o = attention(heads(layer.qProj.weight), heads(layer.kProj.weight), heads(layer.vProj.weight));
      const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [20, 16]);
      return tf.reshape(tf.matMul(merged, layer.oProj.weight, false, true), [2, 10, 16]);
    });
    await expectAllClose(output, want, { atol: 1e-5, rtol: 1e-4 });
    expect((await sparsity.data())[0]).toBe(0);
    tf.dispose([x, output, sparsity, want]);
    layer.dispose();
  });

  it('sparse mode with a mask that keeps everything equals dense mode; a training step lowers the loss', async () => {
    const layer = new SparseAttention({ dModel: 8, heads: 2, bq: 4, bk: 4, topK: 1, topP: 1, causal: true, seed: 1 });
    const x = uniform([1, 12, 8], 2);
    const sparse = layer.forward(x);
    layer.mode = 'dense';
    const dense = layer.forward(x);
    await expectAllClose(sparse.output, dense.output, { atol: 1e-5, rtol: 1e-4 });
    // causal: the blocks above the diagonal are dropped (3 of 9)
    expect((await sparse.sparsity.data())[0]).toBeCloseTo(1 / 3, 5);
    layer.mode = 'sparse';
    const target = uniform([1, 12, 8], 3);
    const optimizer = tf.train.adam(0.05);
    const loss = () => {
      const r = layer.forward(x);
      r.sparsity.dispose();
      return tf.mean(tf.square(tf.sub(r.output, target))) as tf.Scalar;
    };
    const value = async () => {
      const t = loss();
      const v = (await t.data())[0] as number;
      t.dispose();
      return v;
    };
    const before = await value();
    for (let i = 0; i < 5; i++) tf.dispose(optimizer.minimize(loss, true, layer.parameters()) ?? undefined);
    const after = await value();
    expect(after).toBeLessThan(before);
    optimizer.dispose();
    tf.dispose([x, target, sparse, dense]);
    layer.dispose();
  });

  it('leaks no tensors', async () => {
    const layer = new SparseAttention({ dModel: 8, heads: 2, bq: 4, bk: 4 });
    const x = uniform([1, 8, 8], 4);
    await expectNoLeaks(() => {
      const r = layer.forward(x);
      return [r.output, r.sparsity];
    });
    x.dispose();
    layer.dispose();
  });
});
