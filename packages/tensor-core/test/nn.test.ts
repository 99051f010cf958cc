import { GatedRMSNorm, Linear, RMSNorm, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';

const silu = (x: number) => x / (1 + Math.exp(-x));

describeBackends('Linear', () => {
  it('computes x Wᵀ + b over the last axis with a PyTorch-layout weight [out, in]', async () => {
    const lin = new Linear(3, 2, { bias: true, seed: 4 });
    expect(lin.weight.shape).toEqual([2, 3]);
    lin.loadStateDict({ weight: tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), bias: tf.tensor1d([0.5, -1]) });
    const x = tf.tensor3d([1, 0, -1, 2, 1, 0], [1, 2, 3]);
    await expectAllClose(lin.forward(x), [
      [
        [1 - 3 + 0.5, 4 - 6 - 1],
        [2 + 2 + 0.5, 8 + 5 - 1],
      ],
    ]);
    await expectNoLeaks(() => lin.forward(x));
    tf.dispose(x);
    lin.dispose();
  });

  it('initialises within ±1/√in, deterministically per seed', async () => {
    const a = new Linear(16, 8, { seed: 1 });
    const b = new Linear(16, 8, { seed: 1 });
    const w = (await a.weight.data()) as Float32Array;
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(0.25);
    await expectAllClose(a.weight, b.weight, { atol: 0, rtol: 0 });
    expect(a.bias).toBeUndefined();
    a.dispose();
    b.dispose();
  });
});

describeBackends('RMSNorm and GatedRMSNorm', () => {
  it('normalise by the root mean square, then scale (and gate by SiLU)', async () => {
    const x = tf.tensor2d([3, 4, 0, 0], [1, 4]);
    const rms = Math.sqrt(25 / 4 + 1e-5);
    const norm = new RMSNorm(4);
    await expectAllClose(norm.forward(x), [[3 / rms, 4 / rms, 0, 0]], { atol: 1e-6 });
    const gated = new GatedRMSNorm(4);
    const g = tf.tensor2d([1, -2, 0, 3], [1, 4]);
    await expectAllClose(gated.forward(x, g), [[(3 / rms) * silu(1), (4 / rms) * silu(-2), 0, 0]], { atol: 1e-6 });
    await expectNoLeaks(() => norm.forward(x));
    await expectNoLeaks(() => gated.forward(x, g));
    tf.dispose([x, g]);
    norm.dispose();
    gated.dispose();
  });
});
