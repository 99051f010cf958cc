import { type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import type { FusedAttrs, SamplerPath } from '../src/fused/attrs.js';
import { candidateGrid, useCandidateDraw } from '../src/fused/candidates-draw.js';
import { CANDIDATES_K_CAP } from '../src/fused/candidates-draw.program.js';
import { fusedSampleIdsOp } from '../src/fused/op.js';
import { sampleFromLogits } from '../src/index.js';
import { INF, NEG_INF, randomLogits, tiedLogits } from './cases.js';

const filters = (temperature: number, k: number, p: number, pMin: number): FusedAttrs => ({ temperature, k, p, pMin });

/** The draws of `fusedSampleIdsOp` on path `select` as (id, logprob) pairs, with the row uniforms of `seed` (offset 0). */
async function drawsOn(logits: Tensor, attrs: FusedAttrs, select: SamplerPath, seed: number, splits?: number): Promise<number[]> {
  const [ids, logprobs] = fusedSampleIdsOp(
    { logits },
    { ...attrs, select, ...(splits === undefined ? {} : { splits }), seed, offset: 0 },
  ) as [Tensor, Tensor];
  expect(ids.dtype).toBe('int32');
  const [i, l] = await Promise.all([ids.data(), logprobs.data()]);
  tf.dispose([ids, logprobs]);
  return Array.from(i).flatMap((id, r) => [id, l[r] as number]);
}

const idsOf = (draws: number[]): number[] => draws.filter((_, i) => i % 2 === 0);
const logprobsOf = (draws: number[]): number[] => draws.filter((_, i) => i % 2 === 1);

/**
 * The candidate path (`splits` a row when given, splits of 1024 tokens and more) draws what the radix
 * passes draw, ids and logprobs bit for bit (the same list-draw WGSL on the same top-k set), and the
 * one-workgroup path's ids, with its logprobs to round-off (that path may finish on the blocked draw).
 */
async function expectSameAsRadixAndRow(logits: Tensor, f: FusedAttrs, seed: number, splits?: number): Promise<number[]> {
  const message = `${JSON.stringify(f)}, seed ${seed}, ${splits ?? 'auto'} splits`;
  const ours = await drawsOn(logits, f, 'candidates', seed, splits);
  const radix = await drawsOn(logits, f, 'split', seed, splits);
  const row = await drawsOn(logits, f, 'row', seed);
  expect(ours, `${message}: candidates vs radix passes`).toEqual(radix);
  expect(idsOf(ours), `${message}: candidates vs one workgroup per row`).toEqual(idsOf(row));
  await expectAllClose(logprobsOf(ours), logprobsOf(row), { atol: 1e-6, message: `${message}: logprobs vs one workgroup per row` });
  return idsOf(ours);
}

describeBackends(
  'sampleFromLogits by split candidates (fusedSampleIdsOp, select: candidates)',
  () => {
    it('draws the radix path’s tokens and logprobs on random rows, aligned or not, k = 1 to the cap', async () => {
      // 5000 tokens: vec4 loads, splits of 1024 (the last 904); 5003: one float at a time, a last split of 907
      for (const cols of [5000, 5003]) {
        const logits = randomLogits(3, cols, cols, 4);
        for (const f of [
          filters(1, 1, 1, 0),
          filters(0.7, 50, 0.9, 0),
          filters(1.2, CANDIDATES_K_CAP, 0.95, 0.02),
          filters(0.8, 7, 1, 0.1),
        ]) {
          for (const seed of [3, 4]) await expectSameAsRadixAndRow(logits, f, seed, 5);
        }
        logits.dispose();
      }
    }, 600_000);

    it('reads every token of a row: the first and the last, the last partial vec4 and split boundaries', async () => {
      for (const cols of [3001, 3003, 3072]) {
        const values = new Float32Array(4 * cols).map((_, i) => Math.sin(i * 0.37));
        // row r: its two largest logits at the row's ends, around the split boundary at 1024, or 2048
        const places = [
          [0, cols - 1],
          [cols - 2, cols - 3],
          [1023, 1024],
          [2047, 2048],
        ];
        for (const [r, [top, second]] of places.entries()) {
          values[r * cols + (top as number)] = 4;
          values[r * cols + (second as number)] = 3;
        }
        const logits = tf.tensor2d(values, [4, cols]);
        const ids = await expectSameAsRadixAndRow(logits, filters(0.5, 2, 1, 0), 1, 3);
        for (const [r, id] of ids.entries()) expect(places[r], `${cols} tokens, row ${r}`).toContain(id);
        logits.dispose();
      }
    });

    it('splits rows as candidateGrid picks, 1 row and many, and splits longer than 1024 tokens', async () => {
      const one = randomLogits(1, 9000, 11, 6);
      for (const seed of [1, 2]) await expectSameAsRadixAndRow(one, filters(0.7, 50, 0.9, 0), seed);
      // a split of 8192 tokens (32 a thread) and one of 808
      await expectSameAsRadixAndRow(one, filters(1, 100, 0.8, 0), 3, 2);
      one.dispose();
      const many = randomLogits(33, 2051, 12, 3);
      expect(candidateGrid(33, 2051, 40, 2)?.splits).toBe(2);
      for (const seed of [5, 6]) await expectSameAsRadixAndRow(many, filters(0.9, 40, 0.7, 0.05), seed, 2);
      many.dispose();
    }, 600_000);

    it('keeps the lowest ids among ties at the k-th place, across split boundaries', async () => {
      // 13 values a row (step 1/2 in [−3, 3]): the cut falls inside a level that every split holds
      const tied = tiedLogits(4, 4099, 21);
      for (const [k, p] of [
        [1, 1],
        [13, 1],
        [50, 0.61],
        [CANDIDATES_K_CAP, 1],
        [CANDIDATES_K_CAP, 0.83],
      ] as const) {
        for (const seed of [5, 6]) await expectSameAsRadixAndRow(tied, filters(0.9, k, p, 0), seed, 4);
      }
      tied.dispose();
      // 3 levels: about a third of each row tied at the top, far more than k
      const levels = tf.tidy(() => tf.floor(tf.mul(tf.add(randomLogits(3, 3077, 22), 3), 0.5)));
      for (const seed of [7, 8]) await expectSameAsRadixAndRow(levels, filters(1, 60, 0.9, 0), seed, 3);
      levels.dispose();
      // every token tied: ids 0 … k − 1, the argmax id 0
      const zeros = tf.zeros([2, 3000]);
      for (const seed of [1, 2]) {
        const ids = await expectSameAsRadixAndRow(zeros, filters(1, CANDIDATES_K_CAP, 1, 0), seed, 3);
        for (const id of ids) expect(id).toBeLessThan(CANDIDATES_K_CAP);
      }
      expect(idsOf(await drawsOn(zeros, filters(1, 1, 1, 0), 'candidates', 4, 3))).toEqual([0, 0]);
      zeros.dispose();
      // ties that straddle a split boundary at 1024: the k-th place falls among ids 1000 … 1049
      const values = new Float32Array(2100).map((_, i) => (i >= 1000 && i < 1050 ? 5 : Math.sin(i)));
      values[7] = 6;
      values[2090] = 6;
      const straddle = tf.tensor2d(values, [1, 2100]);
      for (const k of [3, 20, 40]) {
        const [id] = await expectSameAsRadixAndRow(straddle, filters(1, k, 1, 0), 9, 3);
        expect(id === 7 || id === 2090 || (id !== undefined && id >= 1000 && id <= 1000 + k - 3), `k = ${k}: ${id}`).toBe(true);
      }
      straddle.dispose();
    }, 600_000);

    it('applies the non-finite rules: +∞ tokens alone, −∞ never drawn, (−1, NaN) for NaN and all −∞ rows, k above the finite tokens', async () => {
      const cols = 3001;
      const values = new Float32Array(7 * cols).map((_, i) => Math.sin(i));
      for (const i of [3, 1200, 2047, 3000]) values[i] = INF;
      values[cols + 1500] = INF;
      values[2 * cols + 2999] = Number.NaN;
      values.fill(NEG_INF, 3 * cols, 4 * cols);
      // 31 finite tokens (ids divisible by 97): fewer than k
      for (let c = 0; c < cols; c++) if (c % 97 !== 0) values[4 * cols + c] = NEG_INF;
      // 1500 +∞ tokens, more than k
      for (let c = 0; c < cols; c += 2) values[5 * cols + c] = INF;
      // one +∞ among −∞, and a NaN hidden below the top-k of its split
      values.fill(NEG_INF, 6 * cols, 7 * cols);
      values[6 * cols + 2500] = INF;
      const logits = tf.tensor2d(values, [7, cols]);
      for (const [k, p, pMin] of [
        [1, 1, 0],
        [3, 1, 0],
        [50, 0.9, 0],
        [CANDIDATES_K_CAP, 0.99, 0.5],
      ] as const) {
        for (const seed of [0, 1]) await expectSameAsRadixAndRow(logits, filters(0.7, k, p, pMin), seed, 3);
      }
      const out = await drawsOn(logits, filters(1, 50, 1, 0), 'candidates', 9, 3);
      expect([3, 1200, 2047, 3000]).toContain(out[0]);
      expect(out[1]).toBeCloseTo(-Math.log(4), 5);
      expect(out.slice(2, 4)).toEqual([1500, 0]);
      expect([out[4], out[6]]).toEqual([-1, -1]);
      expect([out[5], out[7]].every(Number.isNaN)).toBe(true);
      expect((out[8] as number) % 97).toBe(0);
      // the first 50 of the 1500 +∞ tokens by id: 0, 2, …, 98, drawn uniformly
      expect((out[10] as number) % 2).toBe(0);
      expect(out[10]).toBeLessThan(100);
      expect(out[11]).toBeCloseTo(-Math.log(50), 5);
      expect(out.slice(12)).toEqual([2500, 0]);
      logits.dispose();
      // a NaN that is not among its split's top-k still marks the row; a temperature that overflows to +∞
      const bits = new Uint32Array(new Float32Array(2500).map((_, i) => Math.cos(i)).buffer);
      // a NaN with the sign bit set: its key is below −∞'s
      bits[1800] = 0xffc00000;
      const nan = tf.tensor2d(new Float32Array(bits.buffer), [1, 2500]);
      expect(await drawsOn(nan, filters(1, 10, 1, 0), 'candidates', 1, 3)).toEqual([-1, Number.NaN]);
      const hot = tf.tensor2d([Array.from({ length: 2500 }, (_, i) => (i === 40 || i === 2400 ? 3e38 : Math.cos(i)))]);
      for (const seed of [1, 2]) await expectSameAsRadixAndRow(hot, filters(0.5, 10, 1, 0), seed, 3);
      tf.dispose([nan, hot]);
    }, 600_000);

    it('splits rows of 16384 tokens and more on its own grid, with the same draws as the radix passes and as sampleFromLogits', async () => {
      const wide = randomLogits(2, 131072, 31, 8);
      expect(useCandidateDraw('candidates', 2, 131072, 50)).toEqual(candidateGrid(2, 131072, 50));
      for (const o of [{ topK: 50, topP: 0.9, temperature: 0.7 }, { topK: 1 }]) {
        const f = filters(o.temperature ?? 1, o.topK, o.topP ?? 1, 0);
        const ours = await drawsOn(wide, f, 'candidates', 3);
        const radix = await drawsOn(wide, f, 'split', 3);
        const auto = sampleFromLogits(wide, { ...o, seed: 3 });
        const [ids, logprobs] = await Promise.all([auto.ids.data(), auto.logprobs.data()]);
        expect(ours, JSON.stringify(o)).toEqual(radix);
        expect(
          Array.from(ids).flatMap((id, r) => [id, logprobs[r] as number]),
          JSON.stringify(o),
        ).toEqual(ours);
        tf.dispose([auto.ids, auto.logprobs]);
      }
      wide.dispose();
    }, 600_000);

    it('leaks nothing', async () => {
      const s = randomLogits(3, 2600, 46);
      const stream = { seed: 1, offset: 0 };
      await expectNoLeaks(() =>
        fusedSampleIdsOp({ logits: s }, { ...filters(0.9, 20, 0.9, 0.01), select: 'candidates', splits: 3, ...stream }),
      );
      const before = tf.memory().numTensors;
      const out = fusedSampleIdsOp({ logits: s }, { ...filters(1, 5, 1, 0), select: 'candidates', ...stream }) as Tensor[];
      expect(tf.memory().numTensors).toBe(before + 2);
      tf.dispose(out);
      expect(tf.memory().numTensors).toBe(before);
      s.dispose();
    });
  },
  { backends: ['webgpu'] },
);

describe('useCandidateDraw (the fused sampler’s candidate path by shape)', () => {
  it('takes the candidate path for a top-k up to the cap when asked or on the radix select’s shapes, never when another is forced', () => {
    for (const rows of [1, 64, 256]) {
      expect(useCandidateDraw('candidates', rows, 131072, 50), `${rows} rows`).toBeDefined();
      expect(useCandidateDraw(undefined, rows, 131072, 50), `${rows} rows, by shape`).toEqual(candidateGrid(rows, 131072, 50));
      expect(useCandidateDraw('auto', rows, 131072, 50), `${rows} rows, auto`).toEqual(candidateGrid(rows, 131072, 50));
    }
    expect(useCandidateDraw(undefined, 64, 131072, CANDIDATES_K_CAP + 1)).toBeUndefined();
    expect(useCandidateDraw('candidates', 64, 131072, CANDIDATES_K_CAP + 1)).toBeUndefined();
    expect(useCandidateDraw('candidates', 64, 131072, 0)).toBeUndefined();
    expect(useCandidateDraw(undefined, 512, 131072, 50)).toBeUndefined();
    expect(useCandidateDraw(undefined, 4, 8192, 50)).toBeUndefined();
    expect(useCandidateDraw('split', 64, 131072, 50)).toBeUndefined();
    expect(useCandidateDraw('row', 64, 131072, 50)).toBeUndefined();
    expect(useCandidateDraw('candidates', 4, 300, 50)).toBeDefined();
    expect(useCandidateDraw('candidates', 4, 50, 50)).toBeUndefined();
  });

  it('picks 8192-token splits when the rows fill the GPU, shorter ones for few rows, within the draw’s registers', () => {
    expect(candidateGrid(64, 131072, 50)).toEqual({ vec4s: 8, splits: 16, slice: 8192, perThread: 4 });
    expect(candidateGrid(256, 131072, 50)).toEqual({ vec4s: 8, splits: 16, slice: 8192, perThread: 4 });
    expect(candidateGrid(1, 131072, 50)).toEqual({ vec4s: 2, splits: 64, slice: 2048, perThread: 16 });
    expect(candidateGrid(1, 131072, CANDIDATES_K_CAP)).toEqual({ vec4s: 4, splits: 32, slice: 4096, perThread: 16 });
    expect(candidateGrid(1, 1 << 20, CANDIDATES_K_CAP)).toBeUndefined();
  });
});
