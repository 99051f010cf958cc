import { philoxUniform, softmax, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BokStepAttrs,
  bokStepOp,
  bokTopROp,
  fusedTopRApplies,
  kthLargestOp,
  MAX_FUSED_STEPS,
  type TopRAttrs,
} from '../src/best-of-k/op.js';
import { bestOfKReference } from '../src/best-of-k/reference.js';
import { bindBestOfK, resolveBestOfK } from '../src/best-of-k/validate.js';
import { BOK_PRESETS, type BestOfKOptions, bestOfK, bokObjective, coverageCurvature, defaultStepSize, kkt } from '../src/index.js';
import { INF, NEG_INF, randomLogits, rowsOf } from './cases.js';

/** Eq. 18 in float64 on the host, with 'uniform-top-r' weights: the oracle for `bokObjective`. */
function hostObjective(
  q: number[],
  logits: number[],
  o: { k: number; lambda: number; beta: number; r: number; temperature: number },
): number {
  const z = logits.map((x) => x / o.temperature);
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
  const logP = z.map((x) => x - lse);
  const threshold = [...logP].sort((a, b) => b - a)[o.r - 1] as number;
  let f = 0;
  q.forEach((qi, i) => {
    const lp = logP[i] as number;
    if (qi > 0) f += qi * (lp - o.lambda * (Math.log(qi) - lp));
    if (lp >= threshold) f += o.lambda * o.beta * (1 - (1 - qi) ** o.k);
  });
  return f;
}

describeBackends('bestOfK', (backend) => {
  it('selects the k-th largest value per row like tf.topk, counting repeats and −∞', async () => {
    expect(kthLargestOp.hasKernel()).toBe(backend !== 'wasm');
    const ninf = NEG_INF;
    // rounded values repeat, and a masked column and a −∞ row tail test the key order below zero
    const x = tf.tidy(() => {
      const rounded = tf.round(randomLogits(5, 700, 80, 20));
      const mask = tf.tensor2d([[0, ninf, 0, 0, 0, 0, 0]]).tile([5, 100]);
      return tf.concat([tf.add(rounded, mask), tf.fill([5, 3], ninf), tf.fill([5, 2], 7.25)], 1);
    });
    for (const k of [1, 2, 3, 17, 300, 600, 705]) {
      await expectAllClose(kthLargestOp({ x }, { k }), kthLargestOp.reference({ x }, { k }), { atol: 0, message: `k = ${k}` });
    }
    await expectNoLeaks(() => kthLargestOp({ x }, { k: 5 }));
    x.dispose();
  });

  it('runs the fused step kernel on every backend, matching its tfjs composite', async () => {
    expect(bokStepOp.hasKernel(), backend).toBe(true);
    const ninf = NEG_INF;
    const logP = tf.tidy(() => {
      const masked = tf.tensor2d([[0, ninf, 0, 0, ninf, 0, 0]]).tile([3, 43]);
      return tf.logSoftmax(tf.add(randomLogits(3, 301, 70, 4), masked));
    });
    const logQ = tf.tidy(() => tf.logSoftmax(tf.mul(logP, 1.7)));
    const w = philoxUniform([3, 301], { seed: 71 });
    const threshold = tf.tensor2d([[-5.5], [-6], [-30]]);
    const eta = tf.tensor2d([[0.5], [1.2], [3]]);
    const cases: [BokStepAttrs, Tensor][] = [
      [{ lambda: 0.5, coverage: 8, kMinus1: 3, weights: 'tensor' }, w],
      [{ lambda: 0.2, coverage: 2, kMinus1: 0, weights: 'tensor' }, w],
      [{ lambda: 1, coverage: 0, kMinus1: 7, weights: 'tensor' }, w],
      [{ lambda: 0.5, coverage: 8, kMinus1: 3, weights: 'uniform-top-r' }, threshold],
      [{ lambda: 0.3, coverage: 5, kMinus1: 15, weights: 'prob' }, logP],
    ];
    for (const [attrs, weights] of cases) {
      const inputs = { logQ, logP, w: weights, eta };
      await expectAllClose(bokStepOp(inputs, attrs), bokStepOp.reference(inputs, attrs), {
        atol: 1e-4,
        rtol: 1e-5,
        message: attrs.weights,
      });
    }
    await expectNoLeaks(() =>
      bokStepOp({ logQ, logP, w: threshold, eta }, { lambda: 0.5, coverage: 8, kMinus1: 3, weights: 'uniform-top-r' }),
    );
    tf.dispose([logP, logQ, w, threshold, eta]);
  });

  it('runs the fused top-r passes (chunk records, merge and solve, write) like the log-space iteration', async () => {
    expect(bokTopROp.hasKernel(), backend).toBe(true);
    const ninf = NEG_INF;
    // 3 chunks per row; rounding makes ties at every threshold, masked columns sit among them, and the
    // last row has 20 unmasked tokens: for r = 40 and 256 its threshold is −∞ and R is all of them
    const x = tf.tidy(() => {
      const rounded = tf.round(randomLogits(3, 2100, 90, 12));
      const mask = tf.tensor2d([[0, ninf, 0, 0, 0, 0, 0]]).tile([2, 300]);
      const sparse = tf.concat([tf.slice(rounded, [2, 0], [1, 20]), tf.fill([1, 2080], ninf)], 1);
      return tf.concat([tf.add(tf.slice(rounded, [0, 0], [2, 2100]), mask), sparse], 0);
    });
    const base: TopRAttrs = { k: 8, lambda: 0.2, betaBar: 0.004, eta: 1 / (0.2 + 0.004 * 8), steps: 5, temperature: 1, r: 16 };
    const cases: [string, TopRAttrs][] = [
      ['the medium preset', base],
      ['strong coverage, T = 0.6', { ...base, betaBar: 2, eta: 0.3, temperature: 0.6, r: 40 }],
      ['K = 1, one step', { ...base, k: 1, betaBar: 1, eta: 2, steps: 1, r: 3 }],
      ['λ = 0 with the capped step', { ...base, lambda: 0, betaBar: 0, eta: 1000, steps: 2 }],
      ['r = 256 and the most steps', { ...base, betaBar: 0.5, eta: 1, steps: MAX_FUSED_STEPS, r: 256, temperature: 2 }],
    ];
    for (const [name, attrs] of cases) {
      expect(fusedTopRApplies(attrs), name).toBe(true);
      await expectAllClose(bokTopROp({ x }, attrs), bokTopROp.reference({ x }, attrs), { atol: 2e-6, rtol: 2e-4, message: name });
    }
    await expectNoLeaks(() => bokTopROp({ x }, base));
    x.dispose();
  });

  it('gives NaN on a row with no unmasked token, as softmax does', async () => {
    const ninf = NEG_INF;
    const x = tf.tensor2d([
      [ninf, ninf, ninf],
      [1, ninf, 0],
    ]);
    const q = await rowsOf(bestOfK(x, { k: 2, preset: 'mild' }));
    expect(q[0]?.every(Number.isNaN)).toBe(true);
    expect(q[1]?.[1]).toBe(0);
    expect((q[1]?.[0] as number) + (q[1]?.[2] as number)).toBeCloseTo(1, 5);
    x.dispose();
  });

  it('shares q among the +∞ tokens of a row and gives NaN for a row with a NaN, on the fused and general paths', async () => {
    // 2100 tokens: several chunks on the fused WebGPU path, a +∞ token in two of them
    const values = new Float32Array(3 * 2100).map((_, i) => 4 * Math.sin(i));
    for (const i of [5, 10, 2000]) values[i] = INF;
    values[2100 + 1500] = Number.NaN;
    const x = tf.tensor2d(values, [3, 2100]);
    const settings: BestOfKOptions[] = [
      { k: 4, preset: 'medium' },
      { k: 4, lambda: 0.5, beta: 2, weights: 'prob' },
      { k: 2, lambda: 0.3, beta: 1, steps: 30, temperature: 0.5 },
    ];
    for (const opts of settings) {
      const q = await rowsOf(bestOfK(x, opts));
      const name = JSON.stringify(opts);
      const row0 = q[0] as number[];
      expect(
        [5, 10, 2000].map((i) => Math.abs((row0[i] as number) - 1 / 3) < 1e-5),
        name,
      ).toEqual([true, true, true]);
      expect(
        row0.reduce((a, v) => a + v, 0),
        name,
      ).toBeCloseTo(1, 5);
      expect(q[1]?.every(Number.isNaN), name).toBe(true);
      expect(Math.abs((q[2] as number[]).reduce((a, v) => a + v, 0) - 1), name).toBeLessThan(1e-5);
    }
    x.dispose();
  });

  const cases: [string, Omit<BestOfKOptions, 'k'> & { k: number }][] = [
    ['top-r weights, K = 4', { k: 4, lambda: 0.5, beta: 2 }],
    ['prob weights, K = 8, T = 0.7', { k: 8, lambda: 0.2, beta: 5, weights: 'prob', temperature: 0.7 }],
    ['K = 1 and an explicit step', { k: 1, lambda: 1, beta: 1, eta: 0.4, steps: 3 }],
    ['the medium preset', { k: 16, preset: 'medium' }],
  ];
  for (const [name, opts] of cases) {
    it(`matches Algorithm 1 in probability space (${name})`, async () => {
      const x = randomLogits(3, 37, 10, 4);
      const settings = bindBestOfK(resolveBestOfK(opts), 3, 37);
      await expectAllClose(bestOfK(x, opts), bestOfKReference(x, settings), { atol: 2e-6, rtol: 2e-4 });
      x.dispose();
    });
  }

  it('matches Algorithm 1 with user weights of shape [V] and [B, V]', async () => {
    const x = randomLogits(2, 25, 11, 4);
    const wRow = philoxUniform([25], { seed: 12 });
    const wFull = philoxUniform([2, 25], { seed: 13 });
    for (const weights of [wRow, wFull]) {
      const opts = { k: 4, lambda: 0.5, beta: 3, weights };
      await expectAllClose(bestOfK(x, opts), bestOfKReference(x, bindBestOfK(resolveBestOfK(opts), 2, 25)), { atol: 2e-6, rtol: 2e-4 });
    }
    tf.dispose([x, wRow, wFull]);
  });

  it('increases the objective at every step (default η = 1/L and a smaller step)', async () => {
    const x = randomLogits(4, 50, 20, 4);
    const base = { k: 4, lambda: 0.5, beta: 3 };
    const L = 0.5 + 0.5 * 3 * coverageCurvature(4);
    for (const eta of [undefined, 0.3 / L]) {
      const values: number[][] = [];
      for (let steps = 0; steps <= 6; steps++) {
        const opts = { ...base, steps, ...(eta === undefined ? {} : { eta }) };
        const q = bestOfK(x, opts);
        const f = bokObjective(q, x, opts);
        values.push(Array.from(await f.data()));
        tf.dispose([q, f]);
      }
      for (let j = 1; j < values.length; j++) {
        for (let b = 0; b < 4; b++) {
          expect(values[j]?.[b], `row ${b}, step ${j}, eta ${eta}`).toBeGreaterThanOrEqual((values[j - 1]?.[b] as number) - 1e-5);
        }
      }
      // and the ascent is real, not float noise
      expect((values[6]?.[0] as number) - (values[0]?.[0] as number)).toBeGreaterThan(1e-2);
    }
    x.dispose();
  });

  it('evaluates the objective like a float64 host computation', async () => {
    const x = randomLogits(2, 30, 21, 4);
    const opts = { k: 3, lambda: 0.4, beta: 2, r: 5, temperature: 0.9 };
    const q = bestOfK(x, opts);
    const f = Array.from(await bokObjective(q, x, opts).data());
    const qs = await rowsOf(q);
    const xs = await rowsOf(x);
    for (let b = 0; b < 2; b++) {
      expect(f[b]).toBeCloseTo(hostObjective(qs[b] as number[], xs[b] as number[], { ...opts, k: 3 }), 4);
    }
    tf.dispose([x, q]);
  });

  it('converges with β = 0 to the closed-form optimum q ∝ p·exp(s/λ) = p^{(1+λ)/λ}', async () => {
    const x = randomLogits(3, 40, 30, 2);
    const lambda = 0.5;
    const T = 0.8;
    const expected = softmax(tf.mul(x, (1 + lambda) / lambda / T));
    // explicit η = 0.3/λ contracts the log-space error by 0.7 per step: 0.7^60 ≈ 5e-10
    await expectAllClose(bestOfK(x, { k: 4, lambda, beta: 0, eta: 0.3 / lambda, steps: 60, temperature: T }), expected, { atol: 1e-4 });
    // the default η = 1/λ lands on it in one step
    const q = bestOfK(x, { k: 4, lambda, beta: 0, steps: 1, temperature: T });
    await expectAllClose(q, expected, { atol: 1e-5 });
    // and the KKT conditions of max ⟨q, s⟩ − λ KL(q‖p) hold, with s = log p
    const p = softmax(tf.div(x, T));
    const s = tf.logSoftmax(tf.div(x, T));
    const { feasibility, stationarity, complementarity, eta } = kkt(q, s, { kind: 'kl', lambda, reference: p });
    for (const r of [feasibility, stationarity, complementarity]) expect(Math.max(...(await r.data()))).toBeLessThan(1e-5);
    tf.dispose([x, expected, q, p, s, feasibility, stationarity, complementarity, eta]);
  });

  it('raises the coverage 1 − (1 − q)^K of the top-r tokens as β grows', async () => {
    const x = randomLogits(2, 60, 40, 5);
    const k = 4;
    const coverage: number[][] = [];
    for (const beta of [0, 1, 4, 16]) {
      const q = bestOfK(x, { k, lambda: 0.5, beta, steps: 30 });
      const w = bestOfK(x, { k, lambda: 1, beta: 0, steps: 0 });
      const qs = await rowsOf(q);
      const ps = await rowsOf(w);
      coverage.push(
        qs.map((row, b) => {
          const p = ps[b] as number[];
          const threshold = [...p].sort((u, v) => v - u)[2 * k - 1] as number;
          return row.reduce((acc, qi, i) => acc + ((p[i] as number) >= threshold ? 1 - (1 - qi) ** k : 0), 0);
        }),
      );
      tf.dispose([q, w]);
    }
    for (let b = 0; b < 2; b++) {
      for (let j = 1; j < coverage.length; j++) expect(coverage[j]?.[b]).toBeGreaterThan(coverage[j - 1]?.[b] as number);
    }
    x.dispose();
  });

  it('keeps masked (−∞) tokens at exactly 0 and rows summing to 1', async () => {
    const ninf = NEG_INF;
    const x = tf.tensor2d([
      [2, ninf, 1, 0.5, ninf, -1],
      [ninf, ninf, ninf, 3, ninf, ninf],
    ]);
    const q = await rowsOf(bestOfK(x, { k: 4, lambda: 0.3, beta: 10, r: 6 }));
    for (const [b, row] of q.entries()) {
      expect(
        row.reduce((a, v) => a + v, 0),
        `row ${b}`,
      ).toBeCloseTo(1, 5);
    }
    expect([q[0]?.[1], q[0]?.[4]]).toEqual([0, 0]);
    expect(q[1]).toEqual([0, 0, 0, 1, 0, 0]);
    x.dispose();
  });

  it('keeps a [V] input as [V] and the presets equal their (β, λ)', async () => {
    const x = randomLogits(1, 20, 50, 4).reshape([20]);
    const q = bestOfK(x, { k: 8, preset: 'strong' });
    expect(q.shape).toEqual([20]);
    await expectAllClose(q, bestOfK(x, { k: 8, ...BOK_PRESETS.strong }), { atol: 0 });
    expect(bokObjective(q, x, { k: 8, preset: 'strong' }).shape).toEqual([]);
    tf.dispose([x, q]);
  });

  it('leaks no tensors', async () => {
    const x = randomLogits(2, 30, 60, 4);
    const w = philoxUniform([30], { seed: 61 });
    await expectNoLeaks(() => bestOfK(x, { k: 4, preset: 'mild' }));
    await expectNoLeaks(() => bestOfK(x, { k: 4, lambda: 0.5, beta: 1, weights: w }));
    await expectNoLeaks(() => bestOfK(x, { k: 2, lambda: 0.5, beta: 1, weights: 'prob', steps: 0 }));
    await expectNoLeaks(() => bokObjective(x, x, { k: 4, preset: 'mild' }));
    tf.dispose([x, w]);
  });
});

describe('bestOfK invariants', () => {
  it('returns a distribution that is 0 on masked tokens and scores at least p for any logits and settings', async () => {
    const row = fc.array(fc.oneof(fc.double({ min: -20, max: 20, noNaN: true }), fc.constant(Number.NEGATIVE_INFINITY)), {
      minLength: 2,
      maxLength: 24,
    });
    await fc.assert(
      fc.asyncProperty(
        row.filter((r) => r.some(Number.isFinite)),
        fc.integer({ min: 1, max: 16 }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        fc.constantFrom<'uniform-top-r' | 'prob'>('uniform-top-r', 'prob'),
        async (values, k, lambda, beta, weights) => {
          const x = tf.tensor1d(values);
          const opts = { k, lambda, beta, weights };
          const q = bestOfK(x, opts);
          const p = bestOfK(x, { ...opts, steps: 0 });
          const qs = Array.from(await q.data());
          const [fq, fp] = [(await bokObjective(q, x, opts).data())[0] as number, (await bokObjective(p, x, opts).data())[0] as number];
          tf.dispose([x, q, p]);
          expect(qs.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 4);
          qs.forEach((v, i) => {
            expect(v).toBeGreaterThanOrEqual(0);
            if (values[i] === Number.NEGATIVE_INFINITY) expect(v).toBe(0);
          });
          expect(fq).toBeGreaterThanOrEqual(fp - 1e-4 * Math.max(1, Math.abs(fp)));
        },
      ),
      { numRuns: 40, seed: 20260225 },
    );
  });
});

describe('fusedTopRApplies', () => {
  const base: TopRAttrs = { k: 4, lambda: 0.5, betaBar: 0.1, eta: 1, steps: 5, temperature: 1, r: 8 };
  it('takes the fused path for the defaults and the paper settings', () => {
    expect(fusedTopRApplies(base)).toBe(true);
    expect(fusedTopRApplies({ ...base, eta: 2, steps: 1, r: 256 })).toBe(true);
  });

  it('leaves r > 256, J = 0, J > 16 and ηλ > 1 to the log-space iteration', () => {
    expect(fusedTopRApplies({ ...base, r: 257 })).toBe(false);
    expect(fusedTopRApplies({ ...base, steps: 0 })).toBe(false);
    expect(fusedTopRApplies({ ...base, steps: MAX_FUSED_STEPS + 1 })).toBe(false);
    expect(fusedTopRApplies({ ...base, eta: 2.5 })).toBe(false);
  });
});

describe('defaultStepSize', () => {
  it('is 1/L with the coverage curvature K((K−2)/(K−1))^{K−2}, capped at 1000 as λ → 0', () => {
    expect(coverageCurvature(1)).toBe(0);
    expect(coverageCurvature(2)).toBe(2);
    expect(coverageCurvature(4)).toBeCloseTo(4 * (2 / 3) ** 2, 12);
    expect(defaultStepSize(0.5, 0.25, 4, 1)).toBeCloseTo(1 / (0.5 + 0.25 * coverageCurvature(4)), 12);
    expect(defaultStepSize(0, 0, 4, 1)).toBe(1000);
    expect(defaultStepSize(1e-300, 0, 4, 1)).toBe(1000);
  });

  it('bounds the curvature of the coverage term over q ∈ [0, 1]', () => {
    for (const k of [2, 3, 5, 16, 64]) {
      let max = 0;
      for (let i = 0; i <= 10000; i++) {
        const q = i / 10000;
        max = Math.max(max, k * (k - 1) * q * (1 - q) ** (k - 2));
      }
      const atArgmax = k * (k - 1) * (1 / (k - 1)) * (1 - 1 / (k - 1)) ** (k - 2);
      expect(coverageCurvature(k)).toBeGreaterThanOrEqual(max - 1e-9);
      expect(coverageCurvature(k)).toBeCloseTo(atArgmax, 9);
    }
  });
});
