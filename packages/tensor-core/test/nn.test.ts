import { GatedRMSNorm, gelu, LayerNorm, Linear, philoxNormal, philoxUniform, RMSNorm, tf } from '@tessera/tensor-core';
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

describeBackends('LayerNorm and gelu', () => {
  it("LayerNorm is PyTorch's: (x − mean)/√(var + eps)·w + b with the biased variance", async () => {
    const x = tf.tensor2d([1, 2, 3, 6, -1, 0, 1, 0], [2, 4]);
    const ln = new LayerNorm(4);
    ln.loadStateDict({ weight: tf.tensor1d([1, 2, 1, 0.5]), bias: tf.tensor1d([0, 0, 1, -1]) });
    const expected = [
      [1, 2, 3, 6],
      [-1, 0, 1, 0],
    ].map((row) => {
      const mean = row.reduce((a, b) => a + b, 0) / 4;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      return row.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * ([1, 2, 1, 0.5][i] as number) + ([0, 0, 1, -1][i] as number));
    });
    await expectAllClose(ln.forward(x), expected, { atol: 1e-5 });
    const plain = new LayerNorm(4, { bias: false, eps: 1e-3 });
    expect(plain.bias).toBeUndefined();
    expect(Object.keys(plain.stateDict())).toEqual(['weight']);
    await expectNoLeaks(() => plain.forward(x));
    tf.dispose(x);
    ln.dispose();
    plain.dispose();
  });

  it('gelu is the exact (erf) GELU', async () => {
    // x·Φ(x) at a few points, Φ from the erf series values of PyTorch's nn.GELU()
    const x = tf.tensor1d([-3, -1, 0, 0.5, 2]);
    await expectAllClose(gelu(x), [-0.0040496, -0.15865525, 0, 0.34573123, 1.95449974], { atol: 2e-6 });
    x.dispose();
  });
});

describeBackends('philoxNormal', () => {
  it('draws N(mean, std²) reproducibly from two uniform streams (Box–Muller)', async () => {
    const z = philoxNormal([4000, 4], { seed: 9 });
    const values = (await z.data()) as Float32Array;
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
    // 16 000 draws: standard errors 0.008 (mean) and 0.011 (variance)
    expect(Math.abs(mean)).toBeLessThan(0.04);
    expect(Math.abs(variance - 1)).toBeLessThan(0.06);
    const u = await philoxUniform([2], { seed: 9, offset: 0 }).data();
    const v = await philoxUniform([2], { seed: 9, offset: 16000 }).data();
    expect(values[0]).toBeCloseTo(Math.sqrt(-2 * Math.log(1 - (u[0] as number))) * Math.cos(2 * Math.PI * (v[0] as number)), 4);
    const shifted = philoxNormal([3], { seed: 9, offset: 7, mean: 2, std: 0.5 });
    const base = philoxNormal([3], { seed: 9, offset: 7 });
    await expectAllClose(shifted, tf.add(tf.mul(base, 0.5), 2), { atol: 1e-6 });
    await expectNoLeaks(() => philoxNormal([5], { seed: 1 }));
    expect(() => philoxNormal([2], { seed: 1, std: 0 })).toThrow('std: expected');
    tf.dispose([z, shifted, base]);
  });
});
