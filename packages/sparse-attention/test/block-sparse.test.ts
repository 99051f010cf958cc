import { tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { it } from 'vitest';
import { attention, BlockMask, blockSparseAttention } from '../src/index.js';
import { bruteAttention, qkv, randomBlockMask } from './cases.js';

describeBackends('blockSparseAttention', () => {
  for (const [lq, lk, bq, bk, causal] of [
    [45, 45, 16, 8, false],
    [45, 45, 16, 8, true],
    [40, 29, 12, 10, false],
  ] as const) {
    it(`equals the dense oracle with −∞ on dropped blocks (Lq ${lq}, Lk ${lk}, blocks ${bq}×${bk}${causal ? ', causal' : ''})`, async () => {
      const { q, k, v } = qkv(1, 2, lq, lk, 8, lq * bq + bk, 2);
      const nq = Math.ceil(lq / bq);
      const nk = Math.ceil(lk / bk);
      const dense = randomBlockMask([1, 2, nq, nk], lq + bk, 0.5);
      const mask = BlockMask.fromDense(dense, { blockSize: [bq, bk] });
      const keep = await dense.data();
      const out = blockSparseAttention(q, k, v, mask, { causal, scale: 0.7 });
      const want = await bruteAttention(
        q,
        k,
        v,
        0.7,
        (_b, h, i, j) => keep[(h * nq + Math.floor(i / bq)) * nk + Math.floor(j / bk)] !== 0 && (!causal || j <= i),
      );
      await expectAllClose(out, want.output, { atol: 2e-5, rtol: 1e-4 });
      tf.dispose([q, k, v, dense, out]);
      mask.dispose();
    });
  }

  it('with a full mask equals dense attention to 1e-4, forward and gradients', async () => {
    const { q, k, v } = qkv(1, 1, 33, 33, 8, 4, 2);
    const dense = tf.ones([1, 1, 3, 5], 'int32');
    const mask = BlockMask.fromDense(dense, { blockSize: [12, 7] });
    for (const causal of [false, true]) {
      const sparse = blockSparseAttention(q, k, v, mask, { causal });
      const full = attention(q, k, v, { causal });
      await expectAllClose(sparse, full, { atol: 1e-4, rtol: 1e-4 });
      const g1 = tf.grads((a, b, c) => tf.sum(tf.square(blockSparseAttention(a, b, c, mask, { causal }))))([q, k, v]);
      const g2 = tf.grads((a, b, c) => tf.sum(tf.square(attention(a, b, c, { causal }))))([q, k, v]);
      for (let i = 0; i < 3; i++) await expectAllClose(g1[i] as tf.Tensor, g2[i] as tf.Tensor, { atol: 1e-4, rtol: 1e-3 });
      tf.dispose([sparse, full, g1, g2]);
    }
    tf.dispose([q, k, v, dense]);
    mask.dispose();
  });

  it('gives output 0 to rows whose block keeps no key, and their gradients stay finite', async () => {
    const { q, k, v } = qkv(1, 1, 20, 20, 8, 9);
    const dense = tf.tensor4d([1, 0, 0, 0, 0, 0], [1, 1, 2, 3], 'int32');
    const mask = BlockMask.fromDense(dense, { blockSize: [10, 8] });
    const out = blockSparseAttention(q, k, v, mask);
    const rows = await out.data();
    for (let i = 10 * 8; i < 20 * 8; i++) if (rows[i] !== 0) throw new Error(`row ${Math.floor(i / 8)} should be 0, got ${rows[i]}`);
    const [dq] = tf.grads((a) => tf.sum(blockSparseAttention(a, k, v, mask)))([q]);
    const want = await bruteAttention(q, k, v, 1 / Math.sqrt(8), (_b, _h, i, j) => (i < 10 ? j < 8 : false));
    await expectAllClose(out, want.output, { atol: 2e-5, rtol: 1e-4 });
    await expectAllClose(tf.isFinite(dq as tf.Tensor).all(), [1]);
    tf.dispose([q, k, v, dense, out, dq]);
    mask.dispose();
  });

  it('gradients with a partial mask match autodiff of the tfjs composite', async () => {
    const { q, k, v } = qkv(1, 2, 26, 26, 8, 12, 2);
    const dense = randomBlockMask([1, 2, 3, 4], 5, 0.6);
    const mask = BlockMask.fromDense(dense, { blockSize: [9, 7] });
    const w = tf.tidy(() => tf.cos(tf.range(0, 2 * 26 * 8).reshape([1, 2, 26, 8])));
    for (const causal of [false, true]) {
      const ours = tf.grads((a, b, c) => tf.sum(tf.mul(blockSparseAttention(a, b, c, mask, { causal }), w)))([q, k, v]);
      const visible = await mask.toDense().data();
      const ref = tf.grads((a, b, c) => {
        const s = tf.mul(tf.matMul(a, b, false, true), 1 / Math.sqrt(8));
        const bias = tf.buffer([1, 2, 26, 26]);
        for (let h = 0; h < 2; h++)
          for (let i = 0; i < 26; i++)
            for (let j = 0; j < 26; j++) {
              const kept = visible[(h * 3 + Math.floor(i / 9)) * 4 + Math.floor(j / 7)] !== 0 && (!causal || j <= i);
              bias.set(kept ? 0 : -1e9, 0, h, i, j);
            }
        const p = tf.softmax(tf.add(s, bias.toTensor()));
        // rows with no kept key: output 0, as the op defines
        const any = tf.tensor(
          [...Array(2 * 26).keys()].map((r) => {
            const h = Math.floor(r / 26);
            const i = r % 26;
            return [...Array(26).keys()].some(
              (j) => visible[(h * 3 + Math.floor(i / 9)) * 4 + Math.floor(j / 7)] !== 0 && (!causal || j <= i),
            )
              ? 1
              : 0;
          }),
          [1, 2, 26, 1],
        );
        return tf.sum(tf.mul(tf.mul(tf.matMul(p, c), any), w));
      })([q, k, v]);
      for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as tf.Tensor, ref[i] as tf.Tensor, { atol: 1e-4, rtol: 1e-3 });
      tf.dispose([ours, ref]);
    }
    tf.dispose([q, k, v, dense, w]);
    mask.dispose();
  });

  it('leaks no tensors, forward or backward', async () => {
    const { q, k, v } = qkv(1, 1, 16, 16, 8, 2);
    const dense = randomBlockMask([1, 1, 2, 2], 3, 0.7);
    const mask = BlockMask.fromDense(dense, { blockSize: [8, 8] });
    await expectNoLeaks(() => blockSparseAttention(q, k, v, mask, { causal: true }));
    // the backward's transpose is made on first access and owned by the mask: disposing the mask frees it
    await expectNoLeaks(() => {
      const owner = BlockMask.fromDense(dense, { blockSize: [8, 8] });
      try {
        return tf.grads((a, b, c) => tf.sum(blockSparseAttention(a, b, c, owner)))([q, k, v]);
      } finally {
        owner.dispose();
      }
    });
    tf.dispose([q, k, v, dense]);
    mask.dispose();
  });
});
