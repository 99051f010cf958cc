import { tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { attention, blockScores, blockSparseAttention, hybridMask, spargeAttention } from '../src/index.js';
import { qkv } from './cases.js';

describeBackends('spargeAttention', () => {
  it('is blockScores → hybridMask → blockSparseAttention, and reports the mask sparsity', async () => {
    const { q, k, v } = qkv(1, 2, 48, 48, 8, 5, 3);
    const opts = { bq: 8, bk: 4, topK: 0.1, topP: 0.3, causal: true };
    const { output, sparsity } = spargeAttention(q, k, v, opts);
    const scores = blockScores(q, k, { bq: 8, bk: 4, causal: true });
    const mask = hybridMask(scores, { topK: 0.1, topP: 0.3, bq: 8, bk: 4 });
    const want = blockSparseAttention(q, k, v, mask, { causal: true });
    await expectAllClose(output, want, { atol: 1e-6, rtol: 1e-6 });
    await expectAllClose(sparsity, mask.sparsity, { atol: 0 });
    const s = (await sparsity.data())[0] as number;
    // causal: at least the blocks above the diagonal are dropped; the rules keep at least one per row
    expect(s).toBeGreaterThan(0.4);
    expect(s).toBeLessThan(1);
    tf.dispose([q, k, v, output, sparsity, scores, want]);
    mask.dispose();
  });

  it('handles a sequence of one key block (L ≤ bk): dense attention, sparsity 0', async () => {
    const { q, k, v } = qkv(1, 2, 5, 5, 8, 11, 12);
    for (const causal of [false, true]) {
      const { output, sparsity } = spargeAttention(q, k, v, { bq: 8, bk: 8, causal });
      const dense = attention(q, k, v, { causal });
      await expectAllClose(output, dense, { atol: 1e-5, rtol: 1e-5 });
      await expectAllClose(sparsity, 0, { atol: 0 });
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(spargeAttention(a, b, c, { bq: 8, bk: 8, causal }).output),
      )([q, k, v]);
      const want = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(attention(a, b, c, { causal })))([q, k, v]);
      for (let i = 0; i < 3; i++) await expectAllClose(grads[i] as tf.Tensor, want[i] as tf.Tensor, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([output, sparsity, dense, grads, want]);
    }
    tf.dispose([q, k, v]);
  });

  it('trains: gradients flow to q, k and v through the kept blocks only, with no leaks', async () => {
    const { q, k, v } = qkv(1, 1, 32, 32, 8, 8, 2);
    const opts = { bq: 8, bk: 8, topK: 0.25, topP: 0.3 };
    const [dq, dk, dv] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const r = spargeAttention(a, b, c, opts);
      r.sparsity.dispose();
      return tf.sum(tf.square(r.output));
    })([q, k, v]);
    const scores = blockScores(q, k, { bq: 8, bk: 8 });
    const mask = hybridMask(scores, { topK: 0.25, topP: 0.3, bq: 8, bk: 8 });
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(blockSparseAttention(a, b, c, mask))))([q, k, v]);
    await expectAllClose(dq as tf.Tensor, ref[0] as tf.Tensor, { atol: 1e-5, rtol: 1e-4 });
    await expectAllClose(dk as tf.Tensor, ref[1] as tf.Tensor, { atol: 1e-5, rtol: 1e-4 });
    await expectAllClose(dv as tf.Tensor, ref[2] as tf.Tensor, { atol: 1e-5, rtol: 1e-4 });
    await expectNoLeaks(() => {
      const r = spargeAttention(q, k, v, opts);
      return [r.output, r.sparsity];
    });
    tf.dispose([q, k, v, dq, dk, dv, scores, ref]);
    mask.dispose();
  });
});
