import { tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { attention, attentionWithLse } from '../src/index.js';
import { flashOp, flashReference, MAX_KERNEL_HEAD_DIM } from '../src/flash/index.js';
import { backwardTile, forwardTile } from '../src/flash/tile.js';
import { bruteAttention, qkv } from './cases.js';

describeBackends('attention', (backend) => {
  it('runs a Tessera kernel, not the composite (WGSL on webgpu, typed arrays on cpu and wasm)', () => {
    expect(flashOp.hasKernel(backend)).toBe(true);
  });

  for (const [lq, lk, d, causal] of [
    [37, 37, 8, false],
    [37, 37, 8, true],
    [70, 45, 16, false],
    [20, 20, 64, true],
    [12, 12, 72, false],
  ] as const) {
    it(`equals a brute-force oracle (Lq ${lq}, Lk ${lk}, D ${d}${causal ? ', causal' : ''})`, async () => {
      const { q, k, v } = qkv(2, 2, lq, lk, d, lq + lk + d, 2);
      const scale = 0.6;
      const { output, lse } = attentionWithLse(q, k, v, { causal, scale });
      const want = await bruteAttention(q, k, v, scale, (_b, _h, i, j) => !causal || j <= i);
      await expectAllClose(output, want.output, { atol: 2e-5, rtol: 1e-4 });
      await expectAllClose(lse, want.lse, { atol: 2e-5, rtol: 1e-4 });
      tf.dispose([q, k, v, output, lse]);
    });
  }

  it('defaults the scale to D^-1/2', async () => {
    const { q, k, v } = qkv(1, 1, 9, 9, 16, 3);
    const out = attention(q, k, v);
    const want = await bruteAttention(q, k, v, 0.25);
    await expectAllClose(out, want.output, { atol: 2e-5, rtol: 1e-4 });
    tf.dispose([q, k, v, out]);
  });

  it('gradients match autodiff of the tfjs composite', async () => {
    const { q, k, v } = qkv(1, 2, 21, 21, 8, 11, 2);
    const w = tf.tidy(() => tf.sin(tf.range(0, 21 * 8).reshape([1, 1, 21, 8])));
    for (const causal of [false, true]) {
      const attrs = { causal, sparse: false, scale: 0.5, bq: 1, bk: 1 };
      const ours = tf.grads((a, b, c) => tf.sum(tf.mul(attention(a, b, c, { causal, scale: 0.5 }), w)))([q, k, v]);
      const ref = tf.grads((a, b, c) => {
        const dummy = tf.zeros([2], 'int32');
        const [o] = flashReference({ q: a, k: b, v: c, kvNum: dummy, kvIdx: dummy, qNum: dummy, qIdx: dummy }, attrs);
        return tf.sum(tf.mul(o as tf.Tensor, w));
      })([q, k, v]);
      for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as tf.Tensor, ref[i] as tf.Tensor, { atol: 1e-4, rtol: 1e-3 });
      tf.dispose([ours, ref]);
    }
    tf.dispose([q, k, v, w]);
  });

  it('gradients match for heads wider than 64 (the 32 × 16 forward and 16 × 16 backward tiles)', async () => {
    const { q, k, v } = qkv(1, 1, 20, 20, 72, 13, 2);
    const dummy = tf.zeros([2], 'int32');
    const attrs = { causal: true, sparse: false, scale: 0.2, bq: 1, bk: 1 };
    const ours = tf.grads((a, b, c) => attention(a, b, c, { causal: true, scale: 0.2 }))([q, k, v], v);
    const ref = tf.grads(
      (a, b, c) => flashReference({ q: a, k: b, v: c, kvNum: dummy, kvIdx: dummy, qNum: dummy, qIdx: dummy }, attrs)[0] as tf.Tensor,
    )([q, k, v], v);
    for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as tf.Tensor, ref[i] as tf.Tensor, { atol: 1e-4, rtol: 1e-3 });
    tf.dispose([q, k, v, dummy, ours, ref]);
  });

  it('leaks no tensors, forward or backward', async () => {
    const { q, k, v } = qkv(1, 1, 12, 12, 8, 5);
    await expectNoLeaks(() => attention(q, k, v, { causal: true }));
    await expectNoLeaks(() => tf.grads((a, b, c) => tf.sum(attention(a, b, c)))([q, k, v]));
    tf.dispose([q, k, v]);
  });
});

describe('flash tiles', () => {
  it('fit in 32 KiB of workgroup memory for every head dimension the kernels take', () => {
    for (let d = 1; d <= MAX_KERNEL_HEAD_DIM; d++) {
      for (const tile of [forwardTile(d), forwardTile(d, 49152), backwardTile(d)]) {
        expect(tile.dp % 4).toBe(0);
        expect(tile.dp).toBeGreaterThanOrEqual(d);
      }
    }
  });
});
