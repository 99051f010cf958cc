import { type Tensor, tf } from '@tessera/tensor-core';
import { runProgram } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sparsemaxBisectOp, sparsemaxSortOp } from '../src/closed-forms/op.js';
import { radixGrid } from '../src/closed-forms/radix-layout.js';
import { radixInputs, radixSteps, SPARSEMAX_SEARCH } from '../src/closed-forms/radix-select.js';
import { entmax, epsilon, greedy, minP, softmax, sparsemax, topK, topP, typical } from '../src/index.js';
import { NEG_INF, randomLogits, rowsOf, supportOf } from './cases.js';

const B = 3;
const V = 23;

// ---- float64 ports of Hugging Face's logits warpers (transformers/generation/logits_process.py) ----

function softmax64(z: readonly number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((x) => (x === NEG_INF ? 0 : Math.exp(x - m)));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/** softmax of HF's warped scores: kept tokens keep z, the rest become −∞. */
function restricted(z: readonly number[], keep: readonly boolean[]): number[] {
  return softmax64(z.map((x, i) => (keep[i] ? x : NEG_INF)));
}

function temper(s: readonly number[], t: number): number[] {
  return s.map((x) => x / t);
}

function hfTopK(z: readonly number[], k: number): boolean[] {
  const kth = [...z].sort((a, b) => b - a)[k - 1] as number;
  return z.map((x) => x >= kth);
}

function hfTopP(z: readonly number[], p: number): boolean[] {
  const order = z.map((_, i) => i).sort((a, b) => (z[a] as number) - (z[b] as number));
  const probs = softmax64(order.map((i) => z[i] as number));
  const keep = z.map(() => true);
  let cum = 0;
  order.forEach((token, rank) => {
    cum += probs[rank] as number;
    if (cum <= 1 - p && rank < order.length - 1) keep[token] = false;
  });
  return keep;
}

function hfMinP(z: readonly number[], pMin: number): boolean[] {
  const probs = softmax64(z);
  const top = Math.max(...probs);
  return probs.map((x) => x >= pMin * top);
}

function hfTypical(z: readonly number[], mass: number): boolean[] {
  const probs = softmax64(z);
  const logp = probs.map((x) => Math.log(x));
  const entropy = -probs.reduce((a, x, i) => a + (x > 0 ? x * (logp[i] as number) : 0), 0);
  const distance = logp.map((l) => Math.abs(-l - entropy));
  const order = z.map((_, i) => i).sort((a, b) => (distance[a] as number) - (distance[b] as number));
  let cum = 0;
  let below = 0;
  for (const token of order) {
    cum += probs[token] as number;
    if (cum < mass) below++;
  }
  const cut = distance[order[Math.min(below, z.length - 1)] as number] as number;
  return distance.map((d) => d <= cut);
}

function hfEpsilon(z: readonly number[], eps: number): boolean[] {
  const probs = softmax64(z);
  const top = Math.max(...z);
  return probs.map((x, i) => x >= eps || (z[i] as number) >= top);
}

/** Sparsemax by sorting, in float64 (Martins & Astudillo 2016). */
function sparsemax64(z: readonly number[]): number[] {
  const sorted = [...z].sort((a, b) => b - a);
  let prefix = 0;
  let tau = 0;
  sorted.forEach((x, i) => {
    prefix += x;
    if (1 + (i + 1) * x > prefix) tau = (prefix - 1) / (i + 1);
  });
  return z.map((x) => Math.max(x - tau, 0));
}

/** α-entmax in float64 by 200 bisection steps on τ. */
function entmax64(z: readonly number[], alpha: number): number[] {
  const x = z.map((v) => v * (alpha - 1));
  const top = Math.max(...x);
  const q = (tau: number) => x.map((v) => Math.max(v - tau, 0) ** (1 / (alpha - 1)));
  let lo = top - 1;
  let hi = top;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (q(mid).reduce((a, b) => a + b, 0) >= 1) lo = mid;
    else hi = mid;
  }
  const out = q(lo);
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / sum);
}

async function expectRowsMatch(q: Tensor, s: Tensor, oracle: (row: number[]) => number[], atol = 2e-6): Promise<void> {
  const expected = (await rowsOf(s)).map(oracle);
  await expectAllClose(q, expected, { atol, rtol: 1e-5 });
  const got = await rowsOf(q);
  // exact zeros exactly where the oracle has them
  got.forEach((row, b) => {
    row.forEach((v, i) => {
      if ((expected[b]?.[i] as number) === 0) expect(v, `row ${b} token ${i}`).toBe(0);
    });
  });
}

describeBackends('greedy', () => {
  it('puts all mass on the argmax', async () => {
    const s = randomLogits(B, V, 1);
    const q = greedy(s);
    await expectRowsMatch(q, s, (row) => row.map((x) => (x === Math.max(...row) ? 1 : 0)), 0);
    tf.dispose([s, q]);
  });

  it('breaks ties by the lowest token id and keeps the rank of [V] inputs', async () => {
    const s = tf.tensor1d([1, 3, 0, 3, 3]);
    const q = greedy(s);
    expect(q.shape).toEqual([5]);
    expect(Array.from(await q.data())).toEqual([0, 1, 0, 0, 0]);
    tf.dispose([s, q]);
  });

  it('treats −∞ as masked tokens and gives NaN for an all −∞ row', async () => {
    const s = tf.tensor2d([
      [NEG_INF, -5, NEG_INF],
      [NEG_INF, NEG_INF, NEG_INF],
    ]);
    const q = greedy(s);
    const rows = await rowsOf(q);
    expect(rows[0]).toEqual([0, 1, 0]);
    expect(rows[1]?.every(Number.isNaN)).toBe(true);
    tf.dispose([s, q]);
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 1);
    await expectNoLeaks(() => greedy(s));
    s.dispose();
  });
});

describeBackends('softmax', () => {
  it('equals softmax(s / T) (HF TemperatureLogitsWarper)', async () => {
    const s = randomLogits(B, V, 2);
    for (const temperature of [1, 0.6, 2.5]) {
      const q = softmax(s, { temperature });
      await expectRowsMatch(q, s, (row) => softmax64(temper(row, temperature)));
      q.dispose();
    }
    s.dispose();
  });

  it('gives masked (−∞) tokens exactly zero and keeps [V] as [V]', async () => {
    const s = tf.tensor1d([0, NEG_INF, 1]);
    const q = softmax(s);
    expect(q.shape).toEqual([3]);
    await expectAllClose(q, softmax64([0, NEG_INF, 1]));
    expect((await q.data())[1]).toBe(0);
    tf.dispose([s, q]);
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 2);
    await expectNoLeaks(() => softmax(s, { temperature: 0.5 }));
    s.dispose();
  });
});

describeBackends('topK', () => {
  it('matches HF TopKLogitsWarper after temperature on distinct logits', async () => {
    const s = randomLogits(B, V, 3);
    for (const [k, temperature] of [
      [1, 1],
      [5, 0.7],
      [V, 1.3],
    ] as const) {
      const q = topK(s, { k, temperature });
      await expectRowsMatch(q, s, (row) => {
        const z = temper(row, temperature);
        return restricted(z, hfTopK(z, k));
      });
      q.dispose();
    }
    s.dispose();
  });

  it('keeps exactly k tokens when the k-th logit is tied, lower ids first', async () => {
    const s = tf.tensor2d([[1, 2, 2, 0, 2, 2]]);
    const q = topK(s, { k: 3 });
    const row = (await rowsOf(q))[0] as number[];
    expect(supportOf(row)).toEqual([1, 2, 4]);
    expect(row[1]).toBeCloseTo(1 / 3, 6);
    tf.dispose([s, q]);
  });

  it('runs the sorting sparsemax as a host kernel on cpu and wasm, equal to its tfjs reference to the bit', async () => {
    const backend = tf.getBackend();
    expect(sparsemaxSortOp.hasKernel(), backend).toBe(backend !== 'webgpu');
    if (backend === 'webgpu') return;
    // shifted scores as sparsemax feeds them (max 0), with repeated values and masked tokens
    const z = tf.tidy(() => {
      const s = tf.concat([randomLogits(2, 3000, 14, 4), tf.div(tf.round(tf.mul(randomLogits(2, 3000, 15, 2), 4)), 4)], 0);
      const masked = tf.where(tf.less(randomLogits(4, 3000, 16, 1), -0.8), tf.fill([4, 3000], NEG_INF), s);
      return tf.sub(masked, tf.max(masked, 1, true));
    });
    const q = sparsemaxSortOp({ z }, {});
    const expected = sparsemaxSortOp.reference({ z }, {});
    expect(Array.from(await q.data())).toEqual(Array.from(await expected.data()));
    tf.dispose([z, q, expected]);
  });

  it('handles masked vocabularies and [V] inputs', async () => {
    const s = tf.tensor1d([NEG_INF, 1, NEG_INF, 0, 2]);
    const q = topK(s, { k: 2 });
    expect(q.shape).toEqual([5]);
    await expectAllClose(q, restricted([NEG_INF, 1, NEG_INF, 0, 2], [false, true, false, false, true]));
    tf.dispose([s, q]);
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 3);
    await expectNoLeaks(() => topK(s, { k: 4, temperature: 0.8 }));
    s.dispose();
  });
});

describeBackends('topP', () => {
  it('matches HF TopPLogitsWarper after temperature on distinct logits', async () => {
    const s = randomLogits(B, V, 4);
    for (const [p, temperature] of [
      [0.05, 1],
      [0.5, 0.7],
      [0.9, 1.5],
      [1, 1],
    ] as const) {
      const q = topP(s, { p, temperature });
      await expectRowsMatch(q, s, (row) => {
        const z = temper(row, temperature);
        return restricted(z, hfTopP(z, p));
      });
      q.dispose();
    }
    s.dispose();
  });

  it('keeps the token that crosses p', async () => {
    // probabilities 0.5, 0.3, 0.2: p = 0.6 needs the second token, p = 0.5 only the first
    const s = tf.tidy(() => tf.log(tf.tensor1d([0.3, 0.5, 0.2])));
    const supportFor = async (p: number) => {
      const q = topP(s, { p });
      const support = supportOf(Array.from(await q.data()));
      q.dispose();
      return support;
    };
    expect(await supportFor(0.6)).toEqual([0, 1]);
    expect(await supportFor(0.4)).toEqual([1]);
    expect(await supportFor(0.81)).toEqual([0, 1, 2]);
    s.dispose();
  });

  it('breaks ties in probability by lower token id', async () => {
    // four equal tokens: p = 0.3 keeps two of them (0.25 < 0.3 before the second), the lowest ids
    const s = tf.tensor2d([[-1, 0, 0, -1, 0, 0]]);
    const q = topP(s, { p: 0.3 });
    expect(supportOf((await rowsOf(q))[0] as number[])).toEqual([1, 2]);
    tf.dispose([s, q]);
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 4);
    await expectNoLeaks(() => topP(s, { p: 0.8, temperature: 0.9 }));
    s.dispose();
  });
});

describeBackends('minP', () => {
  it('matches HF MinPLogitsWarper after temperature', async () => {
    const s = randomLogits(B, V, 5);
    for (const [pMin, temperature] of [
      [0, 1],
      [0.1, 0.8],
      [0.5, 1.2],
      [1, 1],
    ] as const) {
      const q = minP(s, { pMin, temperature });
      await expectRowsMatch(q, s, (row) => {
        const z = temper(row, temperature);
        return restricted(z, hfMinP(z, pMin));
      });
      q.dispose();
    }
    s.dispose();
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 5);
    await expectNoLeaks(() => minP(s, { pMin: 0.2 }));
    s.dispose();
  });
});

describeBackends('typical', () => {
  it('matches HF TypicalLogitsWarper after temperature', async () => {
    const s = randomLogits(B, V, 6);
    for (const [mass, temperature] of [
      [0.2, 1],
      [0.6, 0.8],
      [0.95, 1.4],
    ] as const) {
      const q = typical(s, { mass, temperature });
      await expectRowsMatch(q, s, (row) => {
        const z = temper(row, temperature);
        return restricted(z, hfTypical(z, mass));
      });
      q.dispose();
    }
    s.dispose();
  });

  it('ignores masked tokens in the entropy', async () => {
    const row = [NEG_INF, 0.5, 2, NEG_INF, 1, -1];
    const s = tf.tensor1d(row);
    const q = typical(s, { mass: 0.5 });
    await expectAllClose(q, restricted(row, hfTypical(row, 0.5)));
    tf.dispose([s, q]);
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 6);
    await expectNoLeaks(() => typical(s, { mass: 0.7 }));
    s.dispose();
  });
});

describeBackends('epsilon', () => {
  it('matches HF EpsilonLogitsWarper after temperature', async () => {
    const s = randomLogits(B, V, 7);
    for (const [eps, temperature] of [
      [0, 1],
      [0.02, 0.9],
      [0.3, 1],
      [0.99, 1],
    ] as const) {
      const q = epsilon(s, { eps, temperature });
      await expectRowsMatch(q, s, (row) => {
        const z = temper(row, temperature);
        return restricted(z, hfEpsilon(z, eps));
      });
      q.dispose();
    }
    s.dispose();
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 7);
    await expectNoLeaks(() => epsilon(s, { eps: 0.05 }));
    s.dispose();
  });
});

describeBackends('sparsemax', () => {
  it('matches a float64 threshold algorithm, with both methods', async () => {
    const s = randomLogits(B, V, 8);
    for (const lambda of [1, 0.5, 4]) {
      for (const method of ['sort', 'bisect'] as const) {
        const q = sparsemax(s, { lambda, method });
        await expectRowsMatch(q, s, (row) => sparsemax64(temper(row, lambda)));
        q.dispose();
      }
    }
    s.dispose();
  });

  it('bisection agrees with the sort to 1e-6, and to float32 resolution on large logits', async () => {
    const s = randomLogits(2, 300, 9, 4);
    const large = randomLogits(2, 300, 9, 40);
    for (const [x, atol] of [
      [s, 1e-6],
      // |z| ≈ 40: one float32 ulp of z is 3.8e-6, so q = z − τ cannot agree closer than a few ulps
      [large, 1.5e-5],
    ] as const) {
      const sorted = sparsemax(x, { method: 'sort' });
      const bisected = sparsemax(x, { method: 'bisect' });
      await expectAllClose(bisected, sorted, { atol, rtol: 0 });
      tf.dispose([sorted, bisected]);
    }
    tf.dispose([s, large]);
  });

  it('runs the bisection as a Tessera kernel on every backend, equal to its tfjs reference', async () => {
    const backend = tf.getBackend();
    expect(sparsemaxBisectOp.hasKernel(), backend).toBe(true);
    const z = randomLogits(B, 70, 13, 3);
    const q = sparsemaxBisectOp({ z }, { iterations: 40 });
    const expected = sparsemaxBisectOp.reference({ z }, { iterations: 40 });
    await expectAllClose(q, expected, { atol: 1e-6, rtol: 0 });
    tf.dispose([z, q, expected]);
  });

  it('handles masked vocabularies and [V] inputs', async () => {
    const row = [NEG_INF, 0.2, 0.1, NEG_INF, -3];
    const s = tf.tensor1d(row);
    for (const method of ['sort', 'bisect'] as const) {
      const q = sparsemax(s, { method });
      expect(q.shape).toEqual([5]);
      await expectAllClose(q, sparsemax64(row));
      q.dispose();
    }
    s.dispose();
  });

  it('tends to greedy as λ → 0, ties sharing the mass, with both methods', async () => {
    // s/λ = 1e7·s: without the shift by the row max, the bisection bracket [max − 1, max] is below
    // float32 resolution and every q was 0
    const s = tf.tensor2d([
      [0.5, 2, -1, 1.999],
      [3, -2, 3, 1],
    ]);
    for (const method of ['sort', 'bisect'] as const) {
      for (const lambda of [1e-7, 1e-30]) {
        const q = sparsemax(s, { lambda, method });
        expect(await rowsOf(q), `${method}, λ = ${lambda}`).toEqual([
          [0, 1, 0, 0],
          [0.5, 0, 0.5, 0],
        ]);
        q.dispose();
      }
    }
    s.dispose();
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 8);
    await expectNoLeaks(() => sparsemax(s));
    await expectNoLeaks(() => sparsemax(s, { method: 'bisect', lambda: 2 }));
    s.dispose();
  });
});

/*
 * The radix sparsemax (radix-select.ts), forced on (`select: 'split'`) whatever the shape, with one split
 * per row and with many (`splits`): the support and τ of the bisection's exact finish.
 */
describeBackends(
  'sparsemax by radix select (sparsemaxBisectOp, select: split)',
  () => {
    const radix = (z: Tensor, splits?: number) =>
      sparsemaxBisectOp({ z }, { iterations: 40, select: 'split', ...(splits ? { splits } : {}) });

    // software Vulkan (lavapipe) compiles each radix shader for up to a minute under load when its shader
    // cache is cold, blocking the event loop (vitest's worker RPC gives up at 60 s): one program at a time
    it('runs the radix programs', async () => {
      const z = randomLogits(2, 100, 12, 3);
      const steps = radixSteps(2, 100, radixGrid(2, 100, 2), SPARSEMAX_SEARCH, 'sparse', false);
      let prev: Tensor | undefined;
      for (const [i, { program, uniforms }] of steps.entries()) {
        const out = runProgram(program, radixInputs(i, steps.length - 1, 'sparse', z, prev, undefined), uniforms, 'int32');
        await out.data();
        prev?.dispose();
        prev = out;
      }
      prev?.dispose();
      const q = radix(z, 2);
      const expected = sparsemaxBisectOp.reference({ z }, { iterations: 40 });
      await expectAllClose(q, expected, { atol: 1e-6, rtol: 0 });
      tf.dispose([z, q, expected]);
    }, 600_000);

    it('equals the bisection reference and the float64 threshold algorithm, with 1 to 7 splits a row', async () => {
      // shifted (max 0, as sparsemax feeds it) and raw scores, small and large
      const raw = randomLogits(4, 700, 13, 3);
      const large = randomLogits(2, 300, 9, 40);
      const shifted = tf.tidy(() => tf.sub(raw, tf.max(raw, 1, true)));
      for (const [z, atol] of [
        [shifted, 1e-6],
        [raw, 1e-6],
        [large, 1.5e-5],
      ] as const) {
        const expected = sparsemaxBisectOp.reference({ z }, { iterations: 40 });
        for (const splits of [undefined, 3, 7]) {
          const q = radix(z, splits);
          await expectAllClose(q, expected, { atol, rtol: 0, message: `${splits ?? 'auto'} splits` });
          await expectRowsMatch(q, z, sparsemax64, atol);
          q.dispose();
        }
        expected.dispose();
      }
      tf.dispose([raw, large, shifted]);
    });

    it('handles ties (all-equal rows share the mass), masked tokens, V = 1, and NaN for NaN and all −∞ rows', async () => {
      const zeros = tf.zeros([2, 1000]);
      const q = radix(zeros, 5);
      await expectAllClose(q, tf.fill([2, 1000], 1 / 1000), { atol: 1e-9, rtol: 1e-6 });
      const grid = tf.tidy(() => tf.sub(tf.div(tf.round(tf.mul(randomLogits(3, 500, 14), 4)), 4), 3));
      const g = radix(grid, 4);
      await expectRowsMatch(g, grid, sparsemax64);
      const s = tf.tensor2d([
        [NEG_INF, 0.2, 0.1, NEG_INF, -3],
        [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF],
        [0, 1, Number.NaN, 2, 3],
        [0, -0.25, -0.25, -0.5, -0.25],
      ]);
      const m = await rowsOf(radix(s, 2));
      await expectAllClose(m[0] as number[], sparsemax64([NEG_INF, 0.2, 0.1, NEG_INF, -3]));
      expect(m[1]?.every(Number.isNaN)).toBe(true);
      expect(m[2]?.every(Number.isNaN)).toBe(true);
      await expectAllClose(m[3] as number[], sparsemax64([0, -0.25, -0.25, -0.5, -0.25]));
      const one = tf.tensor2d([[0], [-5]]);
      expect(Array.from(await radix(one, 3).data())).toEqual([1, 1]);
      tf.dispose([zeros, q, grid, g, s, one]);
    });

    it('tends to greedy as λ → 0, ties sharing the mass exactly', async () => {
      const s = tf.tensor2d([
        [0.5, 2, -1, 1.999],
        [3, -2, 3, 1],
      ]);
      for (const lambda of [1e-7, 1e-30]) {
        const z = tf.tidy(() => tf.div(tf.sub(s, tf.max(s, 1, true)), lambda));
        const q = radix(z, 2);
        expect(await rowsOf(q), `λ = ${lambda}`).toEqual([
          [0, 1, 0, 0],
          [0.5, 0, 0.5, 0],
        ]);
        tf.dispose([z, q]);
      }
      s.dispose();
    });

    it("is what sparsemax(s, { method: 'bisect' }) runs on long rows, and leaks nothing", async () => {
      const s = randomLogits(2, 5000, 15, 4);
      const q = sparsemax(s, { method: 'bisect', lambda: 0.5 });
      await expectRowsMatch(q, s, (row) => sparsemax64(temper(row, 0.5)));
      q.dispose();
      await expectNoLeaks(() => radix(s, 3));
      await expectNoLeaks(() => sparsemax(s, { method: 'bisect' }));
      s.dispose();
    });
  },
  { backends: ['webgpu'] },
);

describeBackends('entmax', () => {
  it('matches a float64 bisection for α = 1.5', async () => {
    const s = randomLogits(B, V, 10);
    for (const lambda of [1, 0.5]) {
      const q = entmax(s, { alpha: 1.5, lambda });
      await expectRowsMatch(q, s, (row) => entmax64(temper(row, lambda), 1.5), 1e-5);
      q.dispose();
    }
    s.dispose();
  });

  it('equals sparsemax for α = 2', async () => {
    const s = randomLogits(B, V, 11);
    const q = entmax(s, { alpha: 2, lambda: 0.7 });
    const expected = sparsemax(s, { lambda: 0.7 });
    await expectAllClose(q, expected, { atol: 1e-6, rtol: 0 });
    tf.dispose([s, q, expected]);
  });

  it('approaches softmax as α → 1⁺', async () => {
    const s = randomLogits(B, V, 12, 1);
    const q = entmax(s, { alpha: 1.001 });
    const expected = softmax(s);
    await expectAllClose(q, expected, { atol: 2e-3, rtol: 0 });
    tf.dispose([s, q, expected]);
  });

  it('tends to greedy as λ → 0, ties sharing the mass', async () => {
    const s = tf.tensor2d([
      [0.5, 2, -1, 1.999],
      [3, -2, 3, 1],
    ]);
    for (const [alpha, lambda] of [
      [1.5, 1e-8],
      [2, 1e-8],
      [1.2, 1e-20],
    ] as const) {
      const q = entmax(s, { alpha, lambda });
      await expectAllClose(
        q,
        [
          [0, 1, 0, 0],
          [0.5, 0, 0.5, 0],
        ],
        { atol: 1e-6, message: `α = ${alpha}, λ = ${lambda}` },
      );
      q.dispose();
    }
    s.dispose();
  });

  it('leaks nothing', async () => {
    const s = randomLogits(B, V, 10);
    await expectNoLeaks(() => entmax(s, { alpha: 1.5, iterations: 10 }));
    s.dispose();
  });
});

describeBackends('all −∞ rows', () => {
  it('give NaN in every decoder while other rows stay valid', async () => {
    const s = tf.tensor2d([
      [NEG_INF, NEG_INF, NEG_INF],
      [0, 1, NEG_INF],
    ]);
    const decoders: [string, (x: Tensor) => Tensor][] = [
      ['greedy', greedy],
      ['softmax', (x) => softmax(x)],
      ['topK', (x) => topK(x, { k: 2 })],
      ['topP', (x) => topP(x, { p: 0.5 })],
      ['minP', (x) => minP(x, { pMin: 0.1 })],
      ['typical', (x) => typical(x, { mass: 0.5 })],
      ['epsilon', (x) => epsilon(x, { eps: 0.1 })],
      ['sparsemax sort', (x) => sparsemax(x, { lambda: 0.5 })],
      ['sparsemax bisect', (x) => sparsemax(x, { lambda: 0.5, method: 'bisect' })],
      ['entmax', (x) => entmax(x, { alpha: 1.5 })],
    ];
    for (const [name, decode] of decoders) {
      const q = decode(s);
      const rows = await rowsOf(q);
      expect(rows[0]?.every(Number.isNaN), name).toBe(true);
      expect(Math.abs((rows[1] as number[]).reduce((a, b) => a + b, 0) - 1), name).toBeLessThan(1e-6);
      expect(rows[1]?.[2], name).toBe(0);
      q.dispose();
    }
    s.dispose();
  });
});

// ---- properties and bad input (CPU: the maths does not depend on the backend) ----

const logitRow = (n: number) => fc.array(fc.integer({ min: -6, max: 6 }), { minLength: n, maxLength: n });
const smallRows = fc
  .integer({ min: 1, max: 12 })
  .chain((v) => fc.tuple(fc.constant(v), fc.array(logitRow(v), { minLength: 1, maxLength: 3 })));

async function decode(fn: (s: Tensor) => Tensor, rows: number[][]): Promise<number[][]> {
  const s = tf.tensor2d(rows);
  const q = fn(s);
  const out = await rowsOf(q);
  tf.dispose([s, q]);
  return out;
}

function expectDistribution(rows: number[][]): void {
  for (const row of rows) {
    expect(row.every((v) => v >= 0)).toBe(true);
    expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
  }
}

describe('closed-form properties', () => {
  it('every decoder returns rows on the simplex, even with many tied logits', async () => {
    await fc.assert(
      fc.asyncProperty(smallRows, async ([v, rows]) => {
        const decoders: ((s: Tensor) => Tensor)[] = [
          greedy,
          (s) => softmax(s, { temperature: 0.5 }),
          (s) => topK(s, { k: Math.ceil(v / 2) }),
          (s) => topP(s, { p: 0.7 }),
          (s) => minP(s, { pMin: 0.2 }),
          (s) => typical(s, { mass: 0.5 }),
          (s) => epsilon(s, { eps: 0.1 }),
          (s) => sparsemax(s),
          (s) => sparsemax(s, { method: 'bisect' }),
          (s) => entmax(s, { alpha: 1.5 }),
        ];
        for (const fn of decoders) expectDistribution(await decode(fn, rows));
      }),
      { numRuns: 25 },
    );
  });

  it('topK keeps exactly k tokens, and its supports are nested in k', async () => {
    await fc.assert(
      fc.asyncProperty(smallRows, fc.integer({ min: 1, max: 12 }), async ([v, rows], k0) => {
        const k = Math.min(k0, v);
        const small = await decode((s) => topK(s, { k }), rows);
        const large = await decode((s) => topK(s, { k: v }), rows);
        small.forEach((row, b) => {
          expect(supportOf(row)).toHaveLength(k);
          const bigger = new Set(supportOf(large[b] as number[]));
          for (const i of supportOf(row)) expect(bigger.has(i)).toBe(true);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('topP supports grow with p and always hold the top token', async () => {
    await fc.assert(
      fc.asyncProperty(
        smallRows,
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        async ([, rows], a, b) => {
          const [p1, p2] = a <= b ? [a, b] : [b, a];
          const q1 = await decode((s) => topP(s, { p: p1 }), rows);
          const q2 = await decode((s) => topP(s, { p: p2 }), rows);
          q1.forEach((row, r) => {
            const outer = new Set(supportOf(q2[r] as number[]));
            expect(supportOf(row).every((i) => outer.has(i))).toBe(true);
            const top = (rows[r] as number[]).indexOf(Math.max(...(rows[r] as number[])));
            expect(row[top]).toBeGreaterThan(0);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('softmax, topK, topP, minP, sparsemax and entmax are invariant to shifting a row', async () => {
    await fc.assert(
      fc.asyncProperty(smallRows, fc.integer({ min: -20, max: 20 }), async ([v, rows], shift) => {
        const shifted = rows.map((row) => row.map((x) => x + shift));
        const decoders: ((s: Tensor) => Tensor)[] = [
          (s) => softmax(s),
          (s) => topK(s, { k: Math.ceil(v / 3) }),
          (s) => topP(s, { p: 0.6 }),
          (s) => minP(s, { pMin: 0.3 }),
          (s) => sparsemax(s, { lambda: 2 }),
          (s) => entmax(s, { alpha: 1.5 }),
        ];
        for (const fn of decoders) {
          await expectAllClose(await decode(fn, shifted), await decode(fn, rows), { atol: 1e-5, rtol: 0 });
        }
      }),
      { numRuns: 20 },
    );
  });

  it('sparsemax bisection agrees with the sort to 1e-6', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.float({ min: -8, max: 8, noNaN: true }), { minLength: 1, maxLength: 40 }), async (row) => {
        const sorted = await decode((s) => sparsemax(s), [row]);
        const bisected = await decode((s) => sparsemax(s, { method: 'bisect' }), [row]);
        await expectAllClose(bisected, sorted, { atol: 1e-6, rtol: 0 });
      }),
      { numRuns: 50 },
    );
  });
});
