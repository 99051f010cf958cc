import { philoxUniformArray, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sample } from '../src/index.js';
import { blockedInverseCdf } from '../src/sample/blocked-cdf.js';
import { drawDense, drawSparse } from '../src/sample/blocked-draw.js';
import { sampleOp } from '../src/sample/op.js';
import { inverseCdfReference } from '../src/sample/reference.js';
import { INF, randomWeights } from './cases.js';

/** The blocked inverse CDF run in JS on each row: every backend must draw exactly these ids. */
async function expectedDraws(q: Tensor, seed: number, offset: number): Promise<{ ids: number[]; logprobs: number[] }> {
  const [rows, vocab] = q.shape as [number, number];
  const values = (await q.data()) as Float32Array;
  const u = philoxUniformArray(rows, seed, offset);
  const ids: number[] = [];
  const logprobs: number[] = [];
  for (let r = 0; r < rows; r++) {
    const d = blockedInverseCdf(values.subarray(r * vocab, (r + 1) * vocab), u[r] as number);
    ids.push(d.id);
    logprobs.push(d.logprob);
  }
  return { ids, logprobs };
}

/** The inverse CDF in float64, as a textbook states it. */
function inverseCdf64(row: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < row.length; i++) total += row[i] as number;
  let acc = 0;
  for (let i = 0; i < row.length; i++) {
    acc += row[i] as number;
    if (acc > u * total) return i;
  }
  return row.length - 1;
}

describeBackends('sample', () => {
  it('draws the blocked inverse-CDF ids of the JS oracle, identically on every backend', async () => {
    // 2 groups of 4096 plus a ragged tail: every level of the blocked order is exercised
    const q = randomWeights(5, 8200, 11);
    const out = sample(q, { seed: 7, offset: 3 });
    const want = await expectedDraws(q, 7, 3);
    expect(Array.from(await out.ids.data())).toEqual(want.ids);
    await expectAllClose(out.logprobs, want.logprobs, { atol: 1e-5, rtol: 1e-5 });
    expect(out.ids.dtype).toBe('int32');
    tf.dispose([q, out.ids, out.logprobs]);
  });

  it('agrees with the textbook float64 inverse CDF and with the tfjs reference', async () => {
    const q = randomWeights(6, 300, 5);
    const out = sample(q, { seed: 123 });
    const u = philoxUniformArray(6, 123, 0);
    const rows = (await q.array()) as number[][];
    expect(Array.from(await out.ids.data())).toEqual(rows.map((row, r) => inverseCdf64(row, u[r] as number)));
    const [refIds, refLogprobs] = sampleOp.reference({ q }, { seed: 123, offset: 0 }) as [Tensor, Tensor];
    const ref = tf.tidy(() => inverseCdfReference(q, tf.tensor1d(u)));
    expect(Array.from(await tf.unstack(ref, 1)[0]!.data())).toEqual(Array.from(await refIds.data()));
    expect(Array.from(await refIds.data())).toEqual(Array.from(await out.ids.data()));
    await expectAllClose(out.logprobs, refLogprobs, { atol: 1e-5 });
    tf.dispose([q, out.ids, out.logprobs, ref, refIds, refLogprobs]);
  });

  it('uses the row total, so scaling a row by a power of two draws the same ids', async () => {
    const q = randomWeights(4, 1000, 2);
    const scaled = tf.mul(q, 8);
    const a = sample(q, { seed: 9 });
    const b = sample(scaled, { seed: 9 });
    expect(Array.from(await b.ids.data())).toEqual(Array.from(await a.ids.data()));
    await expectAllClose(b.logprobs, a.logprobs, { atol: 1e-6 });
    tf.dispose([q, scaled, a.ids, a.logprobs, b.ids, b.logprobs]);
  });

  it('never draws a zero-probability token', async () => {
    // mass only at the ends of the row: uniforms near 1 would overshoot into the zero tail on round-off
    const row = new Float32Array(4500);
    row[3] = 0.3;
    row[4100] = 0.7;
    const q = tf.tile(tf.tensor2d(row, [1, 4500]), [64, 1]);
    const out = sample(q, { seed: 1 });
    const ids = Array.from(await out.ids.data());
    for (const id of ids) expect([3, 4100]).toContain(id);
    tf.dispose([q, out.ids, out.logprobs]);
  });

  it('draws tokens with their probabilities', async () => {
    const probs = [0.1, 0, 0.2, 0.3, 0.4];
    const n = 4000;
    const q = tf.tile(tf.tensor2d([probs]), [n, 1]);
    const out = sample(q, { seed: 2024 });
    const counts = [0, 0, 0, 0, 0];
    for (const id of await out.ids.data()) counts[id] = (counts[id] as number) + 1;
    probs.forEach((p, i) => {
      // 5 standard deviations of a binomial count
      expect(Math.abs((counts[i] as number) - n * p)).toBeLessThanOrEqual(5 * Math.sqrt(n * p * (1 - p)) + 1e-9);
    });
    await expectAllClose(out.logprobs, tf.log(tf.gather(tf.tensor1d(probs), out.ids)), { atol: 1e-5 });
    tf.dispose([q, out.ids, out.logprobs]);
  });

  it('continues the Philox stream: row b of a batch draws like a single row at offset + b', async () => {
    const q = randomWeights(3, 64, 4);
    const batch = sample(q, { seed: 5, offset: 10 });
    const second = sample(tf.slice(q, [1, 0], [1, 64]), { seed: 5, offset: 11 });
    expect((await batch.ids.data())[1]).toBe((await second.ids.data())[0]);
    tf.dispose([q, batch.ids, batch.logprobs, second.ids, second.logprobs]);
  });

  it('takes a [V] distribution as one row', async () => {
    const out = sample(tf.tensor1d([0, 0, 1]), { seed: 3 });
    expect(out.ids.shape).toEqual([1]);
    expect(Array.from(await out.ids.data())).toEqual([2]);
    tf.dispose([out.ids, out.logprobs]);
  });

  it('gives id −1 and logprob NaN for a row without positive mass', async () => {
    const q = tf.tensor2d([
      [0, 0, 0],
      [0, 1, 0],
    ]);
    const out = sample(q, { seed: 3 });
    expect(Array.from(await out.ids.data())).toEqual([-1, 1]);
    const lp = await out.logprobs.data();
    expect(Number.isNaN(lp[0])).toBe(true);
    expect(lp[1]).toBeCloseTo(0, 6);
    tf.dispose([q, out.ids, out.logprobs]);
  });

  it('gives id −1 and logprob NaN for a row that is not a distribution: a negative, NaN or +∞ weight', async () => {
    // q = [−1, 2, 0, 0] drew token 1 with logprob log(2/1) = +0.693 before
    const q = tf.tensor2d([
      [-1, 2, 0, 0],
      [0.5, Number.NaN, 0.5, 0],
      [1, INF, 0, 1],
      [0.25, 0.25, 0.5, 0],
    ]);
    for (const seed of [1, 2, 3]) {
      const out = sample(q, { seed });
      const ids = Array.from(await out.ids.data());
      const lp = Array.from(await out.logprobs.data());
      expect(ids.slice(0, 3)).toEqual([-1, -1, -1]);
      expect(lp.slice(0, 3).every(Number.isNaN)).toBe(true);
      expect([0, 1, 2]).toContain(ids[3]);
      const refIds = tf.tidy(() => tf.slice(inverseCdfReference(q, tf.tensor1d(philoxUniformArray(4, seed, 0))), [0, 0], [-1, 1]));
      expect(Array.from(await refIds.data())).toEqual(ids);
      tf.dispose([out.ids, out.logprobs, refIds]);
    }
    // a bad weight in a later group of a long row
    const long = new Float32Array(9000).fill(1);
    long[8500] = -0.5;
    const row = tf.tensor1d(long);
    const out = sample(row, { seed: 4 });
    expect(Array.from(await out.ids.data())).toEqual([-1]);
    tf.dispose([q, row, out.ids, out.logprobs]);
  });

  it('frees its intermediates', async () => {
    const q = randomWeights(2, 50, 1);
    await expectNoLeaks(() => sample(q, { seed: 1 }));
    const single = tf.tensor1d([1, 2]);
    await expectNoLeaks(() => sample(single, { seed: 1 }));
    tf.dispose([q, single]);
  });
});

describe('the host draws (drawDense, drawSparse)', () => {
  /** A row of `vocab` weights: zero but for `entries` (token, weight) pairs, later pairs overwriting. */
  const sparseRow = fc.integer({ min: 1, max: 9000 }).chain((vocab) =>
    fc.record({
      vocab: fc.constant(vocab),
      entries: fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: vocab - 1 }),
          fc.oneof(fc.constant(0), fc.float({ min: Math.fround(1e-30), max: 1e3, noNaN: true }), fc.constant(Math.fround(1e-40))),
        ),
        { minLength: 0, maxLength: 300 },
      ),
      u: fc.integer({ min: 0, max: 2 ** 24 - 1 }).map((i) => i / 2 ** 24),
    }),
  );

  it('draw exactly the ids and logprobs of the blocked inverse CDF, dense or sparse', () => {
    fc.assert(
      fc.property(sparseRow, ({ vocab, entries, u }) => {
        const w = new Float32Array(vocab);
        for (const [i, v] of entries) w[i] = v;
        const want = blockedInverseCdf(w, u);
        expect(drawDense(w, u)).toEqual(want);
        const ids = Int32Array.from(w.keys()).filter((i) => (w[i] as number) > 0 || i % 97 === 0);
        const weights = Float32Array.from(ids, (i) => w[i] as number);
        expect(drawSparse(ids, weights, ids.length, u)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('reject a dense row that is not a distribution as the oracle does', () => {
    for (const bad of [-1, Number.NaN, INF]) {
      const w = new Float32Array(5000).fill(0.5);
      w[4321] = bad;
      expect(drawDense(w, 0.3)).toEqual(blockedInverseCdf(w, 0.3));
      expect(drawDense(w, 0.3).id).toBe(-1);
    }
    expect(drawDense(new Float32Array(70), 0.5)).toEqual({ id: -1, logprob: Number.NaN });
  });
});
