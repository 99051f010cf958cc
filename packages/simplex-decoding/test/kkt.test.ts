import { type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  entmax,
  epsilon,
  greedy,
  type KktObjective,
  type KktResiduals,
  kkt,
  minP,
  softmax,
  sparsemax,
  topK,
  topP,
  typical,
} from '../src/index.js';
import { INF, NEG_INF, randomLogits as uniformLogits } from './cases.js';

/** Seeded logits [3, 23] in [−3, 3), the last row with a masked vocabulary. */
function randomLogits(seed: number): Tensor {
  return tf.tidy(() => {
    const s = uniformLogits(3, 23, seed);
    const masked = tf.tensor2d([Array.from({ length: 23 }, (_, i) => (i % 3 === 0 ? NEG_INF : 0))]);
    return tf.concat([tf.slice(s, [0, 0], [2, -1]), tf.add(tf.slice(s, [2, 0], [1, -1]), masked)]);
  });
}

interface Case {
  name: string;
  decode: (s: Tensor) => Tensor;
  objective: KktObjective;
}

const CASES: Case[] = [
  { name: 'greedy', decode: greedy, objective: { kind: 'greedy' } },
  { name: 'softmax', decode: (s) => softmax(s, { temperature: 0.8 }), objective: { kind: 'softmax', temperature: 0.8 } },
  { name: 'topK', decode: (s) => topK(s, { k: 5, temperature: 1.2 }), objective: { kind: 'topK', k: 5, temperature: 1.2 } },
  { name: 'topP', decode: (s) => topP(s, { p: 0.7, temperature: 0.9 }), objective: { kind: 'topP', p: 0.7, temperature: 0.9 } },
  { name: 'minP', decode: (s) => minP(s, { pMin: 0.1 }), objective: { kind: 'minP', pMin: 0.1, temperature: 1 } },
  { name: 'typical', decode: (s) => typical(s, { mass: 0.6 }), objective: { kind: 'typical', mass: 0.6, temperature: 1 } },
  { name: 'epsilon', decode: (s) => epsilon(s, { eps: 0.03 }), objective: { kind: 'epsilon', eps: 0.03, temperature: 1 } },
  { name: 'sparsemax (sort)', decode: (s) => sparsemax(s, { lambda: 0.5 }), objective: { kind: 'sparsemax', lambda: 0.5 } },
  {
    name: 'sparsemax (bisect)',
    decode: (s) => sparsemax(s, { lambda: 2, method: 'bisect' }),
    objective: { kind: 'sparsemax', lambda: 2 },
  },
  { name: 'entmax α=1.5', decode: (s) => entmax(s, { alpha: 1.5, lambda: 0.7 }), objective: { kind: 'entmax', alpha: 1.5, lambda: 0.7 } },
  { name: 'entmax α=2', decode: (s) => entmax(s, { alpha: 2 }), objective: { kind: 'entmax', alpha: 2, lambda: 1 } },
];

async function worstResidual(r: KktResiduals): Promise<number[]> {
  const parts = await Promise.all([r.feasibility.data(), r.stationarity.data(), r.complementarity.data()]);
  const rows = parts[0].length;
  return Array.from({ length: rows }, (_, b) => Math.max(...parts.map((p) => p[b] as number)));
}

/** Moves `delta` of mass from token `from` to token `to` in row `row`. */
function perturb(q: number[][], row: number, from: number, to: number, delta: number): number[][] {
  const out = q.map((r) => [...r]);
  (out[row] as number[])[from] = ((out[row] as number[])[from] as number) - delta;
  (out[row] as number[])[to] = ((out[row] as number[])[to] as number) + delta;
  return out;
}

async function certify(q: Tensor | number[][], s: Tensor, objective: KktObjective): Promise<number[]> {
  const qt = Array.isArray(q) ? tf.tensor2d(q) : q;
  const r = kkt(qt, s, objective);
  const worst = await worstResidual(r);
  tf.dispose(r);
  if (Array.isArray(q)) qt.dispose();
  return worst;
}

describeBackends('kkt', () => {
  for (const { name, decode, objective } of CASES) {
    it(`certifies ${name} to 1e-5 and rejects its perturbations`, async () => {
      const s = randomLogits(name.length);
      const q = decode(s);
      for (const worst of await certify(q, s, objective)) expect(worst).toBeLessThanOrEqual(1e-5);
      const rows = (await q.array()) as number[][];
      const sRows = (await s.array()) as number[][];
      for (let b = 0; b < rows.length; b++) {
        const row = rows[b] as number[];
        const order = row.map((_, i) => i).sort((x, y) => (row[y] as number) - (row[x] as number));
        const top = order[0] as number;
        const delta = Math.min(0.05, (row[top] as number) / 2);
        const second = order[1] as number;
        if ((row[second] as number) > 0) {
          const worst = (await certify(perturb(rows, b, top, second, delta), s, objective))[b] as number;
          expect(worst, `${name}: mass moved between support tokens of row ${b}`).toBeGreaterThan(1e-3);
        }
        const zero = row.findIndex((v, i) => v === 0 && (sRows[b]?.[i] as number) > NEG_INF);
        if (zero >= 0) {
          const worst = (await certify(perturb(rows, b, top, zero, delta), s, objective))[b] as number;
          expect(worst, `${name}: mass moved off the support in row ${b}`).toBeGreaterThan(1e-3);
        }
      }
      tf.dispose([s, q]);
    });
  }

  it('certifies q ∝ p_ref · exp(s/λ) for the KL objective (Best-of-K with β = 0)', async () => {
    const s = randomLogits(40);
    const logits = randomLogits(41);
    const reference = softmax(logits);
    const lambda = 0.5;
    const q = tf.tidy(() => softmax(tf.add(tf.log(reference), tf.div(s, lambda))));
    for (const worst of await certify(q, s, { kind: 'kl', lambda, reference })) expect(worst).toBeLessThanOrEqual(1e-5);
    const plain = softmax(s, { temperature: lambda });
    const worst = await certify(plain, s, { kind: 'kl', lambda, reference });
    expect(Math.max(...worst)).toBeGreaterThan(1e-3);
    tf.dispose([s, logits, reference, q, plain]);
  });

  it('returns scalar residuals for [V] inputs and η = the common regularised score', async () => {
    // sparsemax of (3, 1, 0): τ = 2, q = (1, 0, 0); η = λτ = 2
    const s = tf.tensor1d([3, 1, 0]);
    const q = sparsemax(s);
    const r = kkt(q, s, { kind: 'sparsemax', lambda: 1 });
    expect(r.eta.shape).toEqual([]);
    expect(r.feasibility.shape).toEqual([]);
    await expectAllClose(r.eta, 2);
    tf.dispose([s, q, r]);
  });

  it('counts mass outside the constraint set as infeasible', async () => {
    const s = tf.tensor2d([[2, 1, 0, -1]]);
    const q = tf.tensor2d([[0.5, 0.25, 0.25, 0]]);
    const r = kkt(q, s, { kind: 'topK', k: 2, temperature: 1 });
    await expectAllClose(r.feasibility, [0.25]);
    tf.dispose([s, q, r]);
  });

  it('certifies a +∞ row against its limit and gives NaN residuals for a NaN in s or q', async () => {
    const s = tf.tensor2d([
      [1, INF, 0, INF],
      [1, Number.NaN, 0, 0],
      [1, 2, 0, 0],
      [1, 2, 0, 0],
    ]);
    const q = tf.tidy(() => tf.concat([softmax(tf.slice(s, [0, 0], [3, 4])), tf.tensor2d([[0.5, Number.NaN, 0.5, 0]])]));
    const r = kkt(q, s, { kind: 'softmax' });
    const worst = await worstResidual(r);
    expect(worst[0]).toBeLessThanOrEqual(1e-5);
    expect(Number.isNaN(worst[1] as number)).toBe(true);
    expect(worst[2]).toBeLessThanOrEqual(1e-5);
    expect(Number.isNaN(worst[3] as number)).toBe(true);
    expect(Array.from(await r.eta.data()).map(Number.isNaN)).toEqual([false, true, false, true]);
    tf.dispose([s, q, r]);
  });

  it('takes temperature and λ as 1 when left out', async () => {
    const s = randomLogits(5);
    const q = sparsemax(s);
    const p = softmax(s);
    for (const worst of await certify(q, s, { kind: 'sparsemax' })) expect(worst).toBeLessThanOrEqual(1e-5);
    for (const worst of await certify(p, s, { kind: 'softmax' })) expect(worst).toBeLessThanOrEqual(1e-5);
    tf.dispose([s, q, p]);
  });

  it('leaks nothing', async () => {
    const s = randomLogits(3);
    const q = topP(s, { p: 0.8 });
    const reference = softmax(s);
    await expectNoLeaks(() => kkt(q, s, { kind: 'topP', p: 0.8, temperature: 1 }));
    await expectNoLeaks(() => kkt(q, s, { kind: 'kl', lambda: 1, reference }));
    tf.dispose([s, q, reference]);
  });
});

describe('kkt properties', () => {
  it('sparsemax certifies itself on arbitrary rows, for both methods', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.constantFrom(0.3, 1, 3),
        async (row, lambda) => {
          const s = tf.tensor2d([row]);
          for (const method of ['sort', 'bisect'] as const) {
            const q = sparsemax(s, { lambda, method });
            for (const worst of await certify(q, s, { kind: 'sparsemax', lambda })) expect(worst).toBeLessThanOrEqual(1e-5);
            q.dispose();
          }
          s.dispose();
        },
      ),
      { numRuns: 40 },
    );
  });
});
