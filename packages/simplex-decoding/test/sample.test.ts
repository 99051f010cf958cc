import { DtypeError, philoxUniform, philoxUniformArray, ShapeError, type Tensor, tf, ValueError } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { blockedInverseCdf } from '../src/sample/blocked-cdf.js';
import { sample } from '../src/sample/index.js';
import { sampleOp } from '../src/sample/sample-op.js';

/** Seeded nonnegative weights `[B, V]`, about a quarter of them exactly zero. */
function randomWeights(rows: number, vocab: number, seed: number): Tensor {
  return tf.tidy(() => {
    const u = philoxUniform([rows, vocab], { seed });
    return tf.where(tf.less(u, 0.25), tf.zeros([rows, vocab]), tf.exp(tf.mul(u, 6)));
  });
}

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
    const ref = sampleOp.reference({ q, u: tf.tensor1d(u) }, {});
    const [refIds, refLogprobs] = tf.unstack(ref, 1) as [Tensor, Tensor];
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

  it('frees its intermediates', async () => {
    const q = randomWeights(2, 50, 1);
    await expectNoLeaks(() => sample(q, { seed: 1 }));
    const single = tf.tensor1d([1, 2]);
    await expectNoLeaks(() => sample(single, { seed: 1 }));
    tf.dispose([q, single]);
  });
});

describe('sample: bad input', () => {
  const q = tf.tensor2d([[0.5, 0.5]]);
  it('rejects shapes other than [B, V] or [V]', () => {
    expect(() => sample(tf.zeros([1, 2, 3]), { seed: 1 })).toThrow(ShapeError);
    expect(() => sample(tf.zeros([1, 2, 3]), { seed: 1 })).toThrow(/q: expected shape \[B, V\] or \[V\], received rank 3/);
    expect(() => sample(tf.zeros([0, 3]), { seed: 1 })).toThrow(/q: expected B ≥ 1 and V ≥ 1/);
  });
  it('rejects non-float dtypes', () => {
    expect(() => sample(tf.tensor2d([[1, 2]], [1, 2], 'int32'), { seed: 1 })).toThrow(DtypeError);
    expect(() => sample(tf.tensor2d([[1, 2]], [1, 2], 'int32'), { seed: 1 })).toThrow(/q: expected dtype float32, received int32/);
  });
  it('rejects seeds and offsets that are not non-negative safe integers', () => {
    expect(() => sample(q, { seed: -1 })).toThrow(ValueError);
    expect(() => sample(q, { seed: 1.5 })).toThrow(/seed: expected an integer ≥ 0 and ≤ 9007199254740991, received 1.5/);
    expect(() => sample(q, { seed: 1, offset: Number.NaN })).toThrow(/offset: expected an integer ≥ 0 .*received NaN/);
    expect(() => sample(q, undefined as unknown as { seed: number })).toThrow(/opts: expected an options object \{ seed, offset\? \}/);
  });
});
