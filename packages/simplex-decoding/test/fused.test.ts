import { philoxUniformArray, type Tensor, tf } from '@tessera/tensor-core';
import { runKernel, runProgram } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RADIX_HEADER_WORDS, radixGrid } from '../src/closed-forms/radix-layout.js';
import type { FusedAttrs } from '../src/fused/attrs.js';
import { collectAtLeast, collected, rowPass } from '../src/fused/collect.js';
import { exp32 } from '../src/fused/exp32.js';
import { fusedHost, keptPrefix, NO_CUT, nucleusCut, sliceOf } from '../src/fused/host.js';
import { fusedSampleIdsOp } from '../src/fused/op.js';
import { type RadixDrawAttrs, radixListDrawFrom, radixPassSteps, useRadixDraw } from '../src/fused/radix-draw.js';
import { SAMPLE_SPLIT_WORDS } from '../src/fused/radix-draw.program.js';
import { topKBuffers, topKOfRow } from '../src/fused/top-candidates.js';
import { minP, sample, type SampleFromLogitsOptions, sampleFromLogits, softmax, topK, topP } from '../src/index.js';
import { INF, NEG_INF, onCpu, randomLogits, tiedLogits } from './cases.js';

/** The unfused path, from the public closed forms: each stage renormalises, the next reads its log. */
function unfused(logits: Tensor, o: SampleFromLogitsOptions): { ids: Tensor; logprobs: Tensor } {
  const q = tf.tidy(() => {
    let dist =
      o.topK === undefined ? softmax(logits, { temperature: o.temperature }) : topK(logits, { k: o.topK, temperature: o.temperature });
    if (o.topP !== undefined) dist = topP(tf.log(dist), { p: o.topP });
    if (o.minP !== undefined) dist = minP(tf.log(dist), { pMin: o.minP });
    return dist;
  });
  const out = sample(q, { seed: o.seed, offset: o.offset });
  q.dispose();
  return out;
}

async function expectSameDraws(logits: Tensor, o: SampleFromLogitsOptions): Promise<number[]> {
  const fused = sampleFromLogits(logits, o);
  const [refIds, refLogprobs] = await onCpu([logits], (x) => {
    const ref = unfused(x as Tensor, o);
    return [ref.ids, ref.logprobs];
  });
  const ids = Array.from(await fused.ids.data());
  expect(ids, JSON.stringify(o)).toEqual(refIds);
  await expectAllClose(fused.logprobs, refLogprobs as number[], { atol: 1e-4, rtol: 1e-4, message: JSON.stringify(o) });
  tf.dispose([fused.ids, fused.logprobs]);
  return ids;
}

describeBackends('sampleFromLogits', (backend) => {
  it('draws the same ids as sample ∘ minP ∘ topP ∘ topK ∘ softmax (run on CPU), for every combination of filters', async () => {
    const logits = randomLogits(6, 1000, 1);
    const settings: Omit<SampleFromLogitsOptions, 'seed'>[] = [
      { temperature: 0.7, topK: 50, topP: 0.9 },
      { topK: 300, topP: 0.95, minP: 0.02 },
      { topP: 0.5 },
      { temperature: 1.3, minP: 0.1 },
      { temperature: 0.9 },
      { topK: 7, minP: 0.3, offset: 5 },
    ];
    for (const s of settings) {
      for (const seed of [3, 77]) await expectSameDraws(logits, { ...s, seed });
    }
    logits.dispose();
  });

  it('resolves ties by lower token id, at the top-k and the top-p cut', async () => {
    const logits = tiedLogits(6, 600, 2);
    for (const s of [{ topK: 40, topP: 0.61 }, { topK: 200 }, { topP: 0.83 }, { topK: 13, temperature: 0.6 }]) {
      for (const seed of [5, 6]) await expectSameDraws(logits, { ...s, seed });
    }
    logits.dispose();
  });

  it('handles a vocabulary that is not a multiple of the workgroup size, and a [V] input', async () => {
    const logits = randomLogits(3, 777, 4);
    await expectSameDraws(logits, { topK: 100, topP: 0.8, temperature: 0.8, seed: 9 });
    const single = tf.reshape(tf.slice(logits, [1, 0], [1, 777]), [777]);
    const out = sampleFromLogits(single, { topK: 100, topP: 0.8, temperature: 0.8, seed: 9, offset: 1 });
    const batch = sampleFromLogits(logits, { topK: 100, topP: 0.8, temperature: 0.8, seed: 9 });
    expect(out.ids.shape).toEqual([1]);
    expect((await out.ids.data())[0]).toBe((await batch.ids.data())[1]);
    tf.dispose([logits, single, out.ids, out.logprobs, batch.ids, batch.logprobs]);
  });

  it('takes the argmax for k = 1 and for a tiny p, the lowest id among tied maxima', async () => {
    const logits = tf.tensor2d([
      [0.5, 2, 1, 2, -1],
      [3, -2, 3, 3, 0],
    ]);
    for (const o of [{ topK: 1 }, { topP: 1e-6 }, { topK: 3, topP: 1e-6, temperature: 5 }]) {
      const out = sampleFromLogits(logits, { ...o, seed: 8 });
      expect(Array.from(await out.ids.data())).toEqual([1, 0]);
      await expectAllClose(out.logprobs, [0, 0], { atol: 1e-6 });
      tf.dispose([out.ids, out.logprobs]);
    }
    logits.dispose();
  });

  it('keeps exactly the first k tied tokens and the first nucleus tokens by id when every logit is equal', async () => {
    // 2000 equal logits: the candidates never fit in workgroup memory, so the WGSL path converges on the
    // key and then searches the tied ids
    const logits = tf.zeros([8, 2000]);
    const k = sampleFromLogits(logits, { topK: 700, seed: 1 });
    for (const id of await k.ids.data()) expect(id).toBeLessThan(700);
    // mass above token j is j/700 < 0.3711 ⇔ j ≤ 259
    const kp = sampleFromLogits(logits, { topK: 700, topP: 0.3711, seed: 2 });
    for (const id of await kp.ids.data()) expect(id).toBeLessThanOrEqual(259);
    await expectAllClose(kp.logprobs, new Array(8).fill(-Math.log(260)), { atol: 1e-5 });
    tf.dispose([logits, k.ids, k.logprobs, kp.ids, kp.logprobs]);
    await expectSameDraws(tf.zeros([4, 2000]), { topK: 700, topP: 0.3711, seed: 3 });
  });

  it('agrees with the unfused path when the nucleus is too large for workgroup memory', async () => {
    const logits = randomLogits(4, 3000, 6, 0.5);
    await expectSameDraws(logits, { topP: 0.9, seed: 12 });
    await expectSameDraws(logits, { topK: 2500, topP: 0.7, minP: 0.5, seed: 13 });
    logits.dispose();
  });

  it('never draws a masked (−∞) token, and gives id −1 for a row with no finite logit', async () => {
    const logits = tf.tensor2d([
      [NEG_INF, 1, NEG_INF, 0.5, NEG_INF, NEG_INF],
      [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF],
    ]);
    const out = sampleFromLogits(logits, { topK: 5, seed: 4 });
    const ids = Array.from(await out.ids.data());
    expect([1, 3]).toContain(ids[0]);
    expect(ids[1]).toBe(-1);
    expect(Number.isNaN((await out.logprobs.data())[1])).toBe(true);
    tf.dispose([logits, out.ids, out.logprobs]);
  });

  it('draws the +∞ tokens alone, uniformly, before the filters (their limit), and (−1, NaN) for a NaN row', async () => {
    // 600 tokens: top-k 500 needs the general path, the other filters finish in workgroup memory
    const values = new Float32Array(3 * 600).map((_, i) => Math.sin(i));
    for (const i of [3, 200, 599]) values[i] = INF;
    values[600 + 7] = INF;
    values[1200 + 5] = Number.NaN;
    const logits = tf.tensor2d(values, [3, 600]);
    // the kept +∞ tokens of row 0: ties at a cut go to the lowest ids
    const cases: [Omit<SampleFromLogitsOptions, 'seed'>, number[]][] = [
      [{}, [3, 200, 599]],
      [{ topK: 2 }, [3, 200]],
      [{ topK: 500, topP: 0.99 }, [3, 200, 599]],
      [{ topP: 0.5, temperature: 0.3 }, [3, 200]],
      [{ minP: 0.5 }, [3, 200, 599]],
    ];
    for (const [o, kept] of cases) {
      const name = JSON.stringify(o);
      for (let seed = 0; seed < 8; seed++) {
        const out = sampleFromLogits(logits, { ...o, seed });
        const ids = Array.from(await out.ids.data());
        const logprobs = Array.from(await out.logprobs.data());
        expect(kept, name).toContain(ids[0]);
        expect(logprobs[0], name).toBeCloseTo(-Math.log(kept.length), 5);
        expect(ids[1], name).toBe(7);
        expect(logprobs[1], name).toBeCloseTo(0, 6);
        expect(ids[2], name).toBe(-1);
        expect(Number.isNaN(logprobs[2]), name).toBe(true);
        tf.dispose([out.ids, out.logprobs]);
      }
    }
    logits.dispose();
  });

  it('runs one kernel (uniforms drawn inside, ids and logprobs written directly) agreeing with its reference', async () => {
    expect(fusedSampleIdsOp.hasKernel(), backend).toBe(true);
    // 3000 tokens: the host top-k starts from a sampled threshold; row 2 holds a +∞ and row 3 a NaN
    const logits = tf.tidy(() => {
      const base = tiedLogits(4, 3000, 8);
      const marks = tf.scatterND(
        [
          [2, 17],
          [3, 2999],
        ],
        [INF, Number.NaN],
        [4, 3000],
      );
      return tf.add(base, marks);
    });
    for (const attrs of [
      { temperature: 0.8, k: 60, p: 0.9, pMin: 0.05, seed: 3, offset: 2 },
      { temperature: 1, k: 0, p: 0.5, pMin: 0, seed: 4, offset: 0 },
    ]) {
      const [ids, logprobs] = fusedSampleIdsOp({ logits }, attrs) as [Tensor, Tensor];
      const [refIds, refLogprobs] = await onCpu([logits], (x) => fusedSampleIdsOp.reference({ logits: x as Tensor }, attrs) as Tensor[]);
      expect(ids.dtype).toBe('int32');
      expect(Array.from(await ids.data()), JSON.stringify(attrs)).toEqual(refIds);
      await expectAllClose(logprobs, refLogprobs as number[], { atol: 1e-4, message: JSON.stringify(attrs) });
      tf.dispose([ids, logprobs]);
    }
    logits.dispose();
  });

  it('frees its intermediates', async () => {
    const logits = randomLogits(2, 300, 3);
    const single = tf.zeros([40]);
    await expectNoLeaks(() => sampleFromLogits(logits, { topK: 20, topP: 0.9, temperature: 0.7, seed: 1 }));
    await expectNoLeaks(() => sampleFromLogits(logits, { topP: 0.99, seed: 1 }));
    await expectNoLeaks(() => sampleFromLogits(single, { seed: 1 }));
    tf.dispose([logits, single]);
  });
});

describe('keptPrefix (host top-k / top-p selection)', () => {
  it('keeps the tokens whose weight ranked above is below the goal, ties by lower id', () => {
    const z = new Float32Array([1, 3, 3, 0, 2, 3]);
    const idx = Int32Array.from([0, 1, 2, 3, 4, 5]);
    const n = keptPrefix(idx, 6, z, null, 2);
    expect(Array.from(idx.slice(0, n)).sort()).toEqual([1, 2]);
    const w = new Float32Array([0.1, 0.3, 0.3, 0.05, 0.15, 0.1]);
    const idx2 = Int32Array.from([5, 4, 3, 2, 1, 0]);
    // ranked 1, 2, 5, 4, 0, 3 with masses above 0, .3, .6, .7, .85, .95: p = 0.65 keeps 1, 2, 5
    expect(Array.from(idx2.slice(0, keptPrefix(idx2, 6, z, w, 0.65))).sort()).toEqual([1, 2, 5]);
  });
});

describe('nucleusCut (the fast row’s nucleus by weight slices)', () => {
  it('keeps the same positions as keptPrefix, ties by lower position, or leaves the row to it', () => {
    let seed = 3;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    // z on grids of several steps (ties inside a slice and across its edge), spreads that leave the smallest
    // weights below the exact-sum bound, and goals at 0, inside, at the whole mass and past it
    const counts = { cut: 0, left: 0 };
    for (let trial = 0; trial < 3000; trial++) {
      const n = 2 + Math.floor(next() * 70);
      const step = [2 ** -20, 1 / 64, 1 / 8, 0.5][trial % 4] as number;
      const spread = [1, 3, 8, 30][(trial >> 2) % 4] as number;
      const z = Float32Array.from({ length: n }, () => Math.round((next() * spread) / step) * step);
      const zmax = Math.max(...z);
      const w = Float32Array.from(z, (v) => exp32(Math.fround(v - zmax)));
      let total = 0;
      for (const v of w) total += v;
      const goal = Math.fround([0, 0.3, 0.9, 0.999, 1, 1.01][trial % 6]! * Math.fround(total));
      const idx = Int32Array.from({ length: n }, (_, i) => i);
      const want = Array.from(idx.subarray(0, keptPrefix(idx, n, z, w, goal))).sort((a, b) => a - b);
      const kept = new Uint8Array(n);
      const cut = nucleusCut(z, w, n, goal, kept);
      if (cut === NO_CUT) {
        counts.left++;
        continue;
      }
      counts.cut++;
      const got = Array.from(w.keys()).filter((j) => sliceOf(w[j] as number) > cut || kept[j] === 1);
      expect(got, `trial ${trial}: n = ${n}, step ${step}, spread ${spread}, goal ${goal}`).toEqual(want);
    }
    // both routes taken: the slices on most rows, keptPrefix on tied or widely spread ones
    expect(counts.cut).toBeGreaterThan(1000);
    expect(counts.left).toBeGreaterThan(100);
  });
});

/** The k largest of float32(s / T), ties by lower id, by a full sort: the oracle of `topKOfRow`. */
function sortedTopK(s: Float32Array, temperature: number, k: number): number[] {
  const t = Math.fround(temperature);
  const z = Array.from(s, (v) => (temperature === 1 ? v : Math.fround(v / t)));
  return z
    .map((v, i) => [v, i] as const)
    .sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : b[0] > a[0] ? 1 : -1))
    .slice(0, k)
    .map(([, i]) => i)
    .sort((a, b) => a - b);
}

describe('topKOfRow (host top-k in one read of the row)', () => {
  afterEach(() => {
    rowPass.mode = 'auto';
  });

  it('finds the top-k set of a full sort, ties by lower id, on rows that defeat its sampled start', () => {
    const vocab = 5000;
    const rows: [string, (i: number) => number][] = [
      ['random', (i) => Math.sin(i * 12.9898) * 10],
      ['ties on a grid', (i) => Math.round(Math.sin(i * 7.31) * 6) / 2],
      ['ascending', (i) => i / 100],
      ['descending', (i) => -i / 100],
      // the strided sample sees only the largest values: fewer than k reach its threshold, so it rescans
      ['largest at the sample stride', (i) => (i % 39 === 0 ? 100 + i / 1000 : Math.cos(i))],
      ['mostly masked', (i) => (i % 7 === 0 ? Math.sin(i) : Number.NEGATIVE_INFINITY)],
      ['constant', () => 0.25],
    ];
    for (const [name, value] of rows) {
      const s = Float32Array.from({ length: vocab }, (_, i) => value(i));
      for (const [k, temperature] of [
        [1, 1],
        [50, 0.7],
        [333, 1.3],
        [4999, 1],
      ] as const) {
        const { status, zmax } = topKOfRow(s, temperature, k);
        const want = sortedTopK(s, temperature, k);
        expect(status, name).toBe('ok');
        expect(Array.from(topKBuffers.ids.subarray(0, k)), `${name}, k = ${k}`).toEqual(want);
        const t = Math.fround(temperature);
        const z = Array.from(s, (v) => (temperature === 1 ? v : Math.fround(v / t)));
        expect(zmax, name).toBe(Math.max(...z));
        expect(Array.from(topKBuffers.z.subarray(0, k)), name).toEqual(want.map((i) => z[i]));
      }
    }
  });

  it.each(['js', 'simd'] as const)(
    'selects on the logits on short rows (48k ≥ V): the same set, z and max as a full sort, ties after the division included (%s row pass)',
    (mode) => {
      rowPass.mode = mode;
      let seed = 11;
      const next = (): number => {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        return seed / 2 ** 32;
      };
      // a few ulps apart: T > 1 ties many logits' z at the k-th, so the logit floor admits candidates whose z
      // falls just below it and the ties' lowest ids decide; rows sampled badly rescan from −∞
      const rows: [string, (i: number) => number][] = [
        ['random', () => (next() - 0.5) * 20],
        ['a few ulps apart', () => 3 + Math.floor(next() * 64) * 2 ** -22],
        ['ties on a grid', () => Math.round((next() - 0.5) * 12) / 2],
        ['signed zeros and ones', () => (next() < 0.5 ? -0 : next() < 0.5 ? 0 : 1)],
        ['mostly masked', () => (next() < 0.9 ? NEG_INF : next())],
        ['largest at the sample stride', (i) => (i % 170 < 16 ? 100 + next() : next())],
        ['ascending', (i) => i / 100],
      ];
      for (const [name, value] of rows) {
        for (const vocab of [1000, 1024, 1027]) {
          const s = Float32Array.from({ length: vocab }, (_, i) => value(i));
          for (const [k, temperature] of [
            [50, 0.7],
            [50, 1],
            [100, 3],
            [21, 1e-3],
          ] as const) {
            const { status, zmax } = topKOfRow(s, temperature, k);
            const want = sortedTopK(s, temperature, k);
            const t = Math.fround(temperature);
            const z = Array.from(s, (v) => (temperature === 1 ? v : Math.fround(v / t)));
            const message = `${name}, V = ${vocab}, k = ${k}, T = ${temperature}`;
            expect(status, message).toBe('ok');
            expect(Array.from(topKBuffers.ids.subarray(0, k)), message).toEqual(want);
            expect(Array.from(topKBuffers.z.subarray(0, k)), message).toEqual(want.map((i) => z[i]));
            // the first maximum in id order, its sign included (−0 === 0, so find returns the first of ±0)
            const top = Math.max(...z);
            const first = z.find((v) => v === top);
            expect(Object.is(zmax, first), message).toBe(true);
          }
        }
      }
    },
  );

  it('takes the first of the tied maxima for k = 1, where the division ties logits below the largest', () => {
    // logits a float32 ulp or a few apart, tempered by T > 1 (many share one z) and T < 1 (few do), and in
    // ±0 and −max rows; the largest logit sits late, so lower ids can tie with it only after the division
    let seed = 7;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const rows: [string, (i: number) => number][] = [
      ['a few ulps apart', () => 3 + Math.floor(next() * 8) * 2 ** -22],
      ['random', () => (next() - 0.5) * 20],
      ['signed zeros', () => (next() < 0.5 ? -0 : 0)],
      ['near −max', () => -3.4e38 * (0.999 + 0.001 * next())],
      ['masked', () => (next() < 0.9 ? NEG_INF : next())],
      ['all −∞', () => NEG_INF],
    ];
    for (const [name, value] of rows) {
      for (const vocab of [5, 1000, 4096]) {
        const s = Float32Array.from({ length: vocab }, (_, i) => value(i));
        for (const temperature of [1, 0.7, 3, 1e3, 1e-3]) {
          const { status, zmax } = topKOfRow(s, temperature, 1);
          const [want] = sortedTopK(s, temperature, 1) as [number];
          const t = Math.fround(temperature);
          const z = temperature === 1 ? (s[want] as number) : Math.fround((s[want] as number) / t);
          const message = `${name}, V = ${vocab}, T = ${temperature}`;
          expect(status, message).toBe('ok');
          expect(topKBuffers.ids[0], message).toBe(want);
          expect(Object.is(topKBuffers.z[0], z) && Object.is(zmax, z), message).toBe(true);
        }
      }
    }
  });

  it('reports a NaN or a +∞ (after the division) for the general path', () => {
    const s = new Float32Array(3000).fill(1);
    s[2500] = Number.NaN;
    expect(topKOfRow(s, 1, 10).status).toBe('nan');
    s[2500] = Number.POSITIVE_INFINITY;
    expect(topKOfRow(s, 1, 10).status).toBe('infinite');
    s[2500] = 3e38;
    expect(topKOfRow(s, 0.01, 10).status).toBe('infinite');
    // k = 1 takes its own pass: a NaN before or after the largest logit, +∞, a z overflowing to +∞
    for (const [at, value, temperature, status] of [
      [2500, Number.NaN, 1, 'nan'],
      [10, Number.NaN, 0.7, 'nan'],
      [2999, INF, 1, 'infinite'],
      [0, 3e38, 0.01, 'infinite'],
    ] as const) {
      s.fill(1);
      s[1500] = 2;
      s[at] = value;
      expect(topKOfRow(s, temperature, 1).status, `${value} at ${at}`).toBe(status);
    }
  });

  it('throws, not spins, when fewer than k values are kept from −∞ (here k > V, outside its contract)', () => {
    // the selection's quickselect never ends without k values to rank, and a synchronous loop blocks
    // vitest's worker past any timeout: a collect loop that dropped values hung this file, not failed it
    expect(() => topKOfRow(new Float32Array([3, 1, 2]), 1, 4)).toThrow(/3 of the 3 values kept from −∞, fewer than k = 4/);
    expect(() => topKOfRow(new Float32Array([NEG_INF, 1, NEG_INF]), 0.5, 5)).toThrow(/fewer than k = 5/);
  });
});

describe('collectAtLeast (the row pass of the host top-k: JS and WebAssembly SIMD)', () => {
  afterEach(() => {
    rowPass.mode = 'auto';
  });

  /** The pass `mode` over `s`: its count and (id, logit) pairs, copied out of the shared buffers. */
  function pass(mode: 'js' | 'simd', s: Float32Array, floor: number): { m: number; ids: number[]; xs: number[] } {
    rowPass.mode = mode;
    const m = collectAtLeast(s, floor, new Int32Array(s.length), new Float32Array(s.length));
    const n = Math.max(m, 0);
    return { m, ids: Array.from(collected.ids.subarray(0, n)), xs: Array.from(collected.xs.subarray(0, n)) };
  }

  it('collects the same ids and logits as a filter, in id order, on rows of any length, with ties, ±0, ±∞ and NaN', () => {
    let seed = 5;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const rows: [string, () => number][] = [
      ['random', () => (next() - 0.5) * 20],
      ['ties on a grid', () => Math.round((next() - 0.5) * 12) / 2],
      ['signed zeros', () => (next() < 0.5 ? -0 : 0)],
      ['masked', () => (next() < 0.7 ? NEG_INF : next())],
      ['with +∞', () => (next() < 0.05 ? INF : next())],
      ['extremes', () => [3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45, NEG_INF][Math.floor(next() * 5)] as number],
    ];
    for (const [name, value] of rows) {
      for (const vocab of [1, 2, 3, 4, 5, 7, 8, 63, 1000, 1021, 1022, 1023, 1024]) {
        const s = Float32Array.from({ length: vocab }, value);
        const f = Math.fround;
        // floors from the row and between float32s (logitFloor's products are doubles): pred(τ)·T and the like
        const floors = [NEG_INF, INF, 0, -0, -3.4028235677973366e38, 3.4028235677973366e38, 1e-46, -1e-46, 2 ** -149];
        for (let j = 0; j < 6; j++) {
          const x = s[Math.floor(next() * vocab)] as number;
          floors.push(x, x * f(0.7), x + 1e-9, x - 1e-9);
        }
        for (const floor of floors) {
          const message = `${name}, V = ${vocab}, floor ${floor}`;
          const want = Array.from(s.keys()).filter((i) => (s[i] as number) >= floor);
          const js = pass('js', s, floor);
          const simd = pass('simd', s, floor);
          expect(js.m, message).toBe(want.length);
          expect(js.ids, message).toEqual(want);
          expect(simd.m, message).toBe(js.m);
          expect(simd.ids, message).toEqual(js.ids);
          // bit for bit, the sign of zero included
          expect(
            simd.xs.every((x, j) => Object.is(x, js.xs[j])) && js.xs.every((x, j) => Object.is(x, s[js.ids[j] as number])),
            message,
          ).toBe(true);
        }
        // a NaN anywhere, the lanes past a whole vector included, is reported by both
        for (const at of [0, vocab - 1, Math.floor(vocab / 2)]) {
          const withNaN = s.slice();
          withNaN[at] = Number.NaN;
          for (const floor of [NEG_INF, 0, INF]) {
            expect(pass('js', withNaN, floor).m, `${name}, V = ${vocab}, NaN at ${at}`).toBe(-1);
            expect(pass('simd', withNaN, floor).m, `${name}, V = ${vocab}, NaN at ${at}`).toBe(-1);
          }
        }
      }
    }
  });

  it('takes the SIMD pass by default where WebAssembly SIMD runs (Node 20 here): its output lies in the module’s memory', () => {
    const ids = new Int32Array(8);
    expect(collectAtLeast(new Float32Array([3, 1, 4, 1, 5, 9, 2, 6]), 4, ids, new Float32Array(8))).toBe(4);
    expect(collected.ids.buffer).not.toBe(ids.buffer);
    expect(Array.from(collected.ids.subarray(0, 4))).toEqual([2, 4, 5, 7]);
  });

  it('leaves the sampler’s draws unchanged: the same ids and logprobs bit for bit on either pass', () => {
    let seed = 9;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const attrs: FusedAttrs[] = [
      { temperature: 0.7, k: 50, p: 0.9, pMin: 0 },
      { temperature: 1, k: 20, p: 1, pMin: 0.05 },
      { temperature: 3, k: 64, p: 0.5, pMin: 0 },
    ];
    for (const vocab of [1024, 1027, 1001]) {
      const rows = 16;
      // random rows, grid ties, and rows with masked tokens, a NaN or a +∞
      const values = Float32Array.from({ length: rows * vocab }, (_, i) => {
        const r = Math.floor(i / vocab);
        const x = (next() - 0.5) * 20;
        if (r % 4 === 1) return Math.round(x) / 2;
        if (r % 4 === 2) return next() < 0.5 ? NEG_INF : x;
        return x;
      });
      values[3 * vocab + 17] = Number.NaN;
      values[7 * vocab + vocab - 1] = INF;
      const u = philoxUniformArray(rows, 4, 0);
      for (const a of attrs) {
        const draws = (['js', 'simd'] as const).map((mode) => {
          rowPass.mode = mode;
          return Array.from(
            fusedHost({ shape: [rows, vocab], dtype: 'float32', values }, { shape: [rows], dtype: 'float32', values: u }, a).values,
          );
        });
        const [js, simd] = draws as [number[], number[]];
        expect(
          simd.every((x, j) => Object.is(x, js[j])),
          `V = ${vocab}, ${JSON.stringify(a)}`,
        ).toBe(true);
      }
    }
  });
});

describe('exp32 (the host kernels’ exponential)', () => {
  it('equals float32(Math.exp(x)) bit for bit on float32 x ≤ 0, −∞ and the float32 underflow included', () => {
    const bits = new Uint32Array(1);
    const x = new Float32Array(bits.buffer);
    // every 251st float32 from −0 down to −112 (≈ 4.5M values), every 7th near 0 and near the underflow to 0
    const sweeps: [number, number, number][] = [
      [0x80000000, 0xc2e00000, 251],
      [0x80000000, 0x80100000, 7],
      [0xc2cf0000, 0xc2d00000, 7],
    ];
    let checked = 0;
    for (const [from, to, step] of sweeps) {
      for (let b = from; b <= to; b += step) {
        bits[0] = b;
        const v = x[0] as number;
        if (!Object.is(exp32(v), Math.fround(Math.exp(v)))) expect(exp32(v), `x = ${v}`).toBe(Math.fround(Math.exp(v)));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(4e6);
    // the one float32 in [−112, 0] where the polynomial alone rounds the other way (an exhaustive search): Math.exp decides
    bits[0] = 0xc16912cd;
    for (const v of [x[0] as number, 0, -0, NEG_INF, -110, -103.97, -87.33655, -1e-45]) {
      expect(Object.is(exp32(v), Math.fround(Math.exp(v))), `x = ${v}`).toBe(true);
    }
  });
});

/** Interleaves ids and logprobs into the host kernel's `[B, 2]` (id, logprob) layout. */
async function interleaved(ids: Tensor, logprobs: Tensor): Promise<number[]> {
  const [i, l] = [await ids.data(), await logprobs.data()];
  tf.dispose([ids, logprobs]);
  return Array.from(i).flatMap((id, r) => [id, l[r] as number]);
}

/** The draws of `fusedSampleIdsOp` as (id, logprob) pairs, with the row uniforms of `seed` (offset 0). */
async function opDraws(logits: Tensor, attrs: FusedAttrs, seed: number): Promise<number[]> {
  const [ids, logprobs] = fusedSampleIdsOp({ logits }, { ...attrs, seed, offset: 0 }) as [Tensor, Tensor];
  expect(ids.dtype).toBe('int32');
  return interleaved(ids, logprobs);
}

/** The host kernel's draws (cpu and wasm run it) on the same logits and uniforms. */
async function hostDraws(logits: Tensor, attrs: FusedAttrs, seed: number): Promise<number[]> {
  const rows = logits.shape[0] as number;
  const values = (await logits.data()) as Float32Array;
  const u = philoxUniformArray(rows, seed, 0);
  const out = fusedHost({ shape: logits.shape, dtype: 'float32', values }, { shape: [rows], dtype: 'float32', values: u }, attrs);
  return Array.from(out.values);
}

const idsOf = (draws: number[]): number[] => draws.filter((_, i) => i % 2 === 0);
const logprobsOf = (draws: number[]): number[] => draws.filter((_, i) => i % 2 === 1);

/**
 * The radix path (`select: 'split'`, `splits` a row when given) draws the same ids as the one-workgroup
 * path and as the host kernel, token for token, with the one-workgroup path's logprobs (the same WGSL
 * on the same candidate list) and the host kernel's to float32 round-off.
 */
async function expectSameAsRowAndHost(logits: Tensor, filters: FusedAttrs, seed: number, splits?: number): Promise<number[]> {
  const message = `${JSON.stringify(filters)}, seed ${seed}, ${splits ?? 'auto'} splits`;
  const split = await opDraws(logits, { ...filters, select: 'split', ...(splits ? { splits } : {}) }, seed);
  const row = await opDraws(logits, { ...filters, select: 'row' }, seed);
  const host = await hostDraws(logits, filters, seed);
  expect(idsOf(split), `${message}: radix vs one workgroup per row`).toEqual(idsOf(row));
  expect(idsOf(split), `${message}: radix vs host kernel`).toEqual(idsOf(host));
  await expectAllClose(logprobsOf(split), logprobsOf(row), { atol: 1e-6, message: `${message}: logprobs vs one workgroup per row` });
  await expectAllClose(logprobsOf(split), logprobsOf(host), { atol: 1e-4, message: `${message}: logprobs vs host kernel` });
  return idsOf(split);
}

/** The filters of a radix draw, without its Philox stream (`radixDrawByStep` takes the seed). */
type RadixFilters = Omit<RadixDrawAttrs, 'seed' | 'offset'>;

/**
 * Runs the programs of one radix draw (radix-draw.ts) one at a time, awaiting each, so that a cold shader
 * cache compiles one shader per turn of the event loop; returns each pass's row statuses (0 searching, 1
 * no distribution, 2 listed) and the draws as (id, logprob) pairs.
 */
async function radixDrawByStep(logits: Tensor, filters: RadixFilters, seed: number): Promise<{ statuses: number[][]; draws: number[] }> {
  const [rows, cols] = logits.shape as [number, number];
  const grid = radixGrid(rows, cols, filters.splits);
  const attrs = { ...filters, seed, offset: 0 };
  const stride = RADIX_HEADER_WORDS + grid.splits * SAMPLE_SPLIT_WORDS;
  const statuses: number[][] = [];
  let prev: Tensor | undefined;
  for (const [i, step] of radixPassSteps(rows, cols, grid, attrs).entries()) {
    const out = runProgram(step.program, prev === undefined ? [logits] : [logits, prev], step.uniforms, 'int32');
    const values = await out.data();
    if (i > 0) statuses.push(Array.from({ length: rows }, (_, r) => values[r * stride] as number));
    prev?.dispose();
    prev = out;
  }
  const list = prev as Tensor;
  const [ids, logprobs] = runKernel((ctx) => radixListDrawFrom(ctx, ctx.inputs.list, grid, attrs), { list }, {}) as [Tensor, Tensor];
  list.dispose();
  return { statuses, draws: await interleaved(ids, logprobs) };
}

/** The pass (1…4) whose output first shows each row listed, from `radixDrawByStep`'s statuses. */
function listedAt(statuses: number[][]): number[] {
  return (statuses[0] ?? []).map((_, r) => 1 + statuses.findIndex((pass) => pass[r] === 2));
}

/*
 * The fused sampler on the radix select (`select: 'split'`), whatever the shape: `useRadixDraw` gives it
 * only rows of 16384 tokens and more, so the short rows here are split into many slices (`splits`), with
 * ties and candidate lists that straddle them.
 */
describeBackends(
  'sampleFromLogits by radix select (fusedSampleIdsOp, select: split)',
  () => {
    const filters = (temperature: number, k: number, p: number, pMin: number): FusedAttrs => ({ temperature, k, p, pMin });

    // first in the suite: software Vulkan compiles each shader for up to a minute under load with a cold
    // cache, blocking the event loop, so the programs are run one at a time here
    it('lists each row as soon as its top-k candidates fit: after digit 0, 1, 2, 3, or at the exact cut with ties', async () => {
      const attrs = (k: number, splits: number): RadixFilters => ({ temperature: 1, k, p: 0.9, pMin: 0, splits });
      // a long tail: the first digit leaves the 10 largest alone in their bin
      const tail = tf.tensor2d([Array.from({ length: 900 }, (_, i) => (i % 90 === 7 ? 100 + i : Math.sin(i)))]);
      // 3000 consecutive floats above 1: one bin until the third digit
      const ulps = tf.tensor2d([Array.from({ length: 3000 }, (_, i) => 1 + ((i * 7919) % 3000) * 2 ** -23)]);
      // 3000 tokens over 256 floats that share their top 24 bits: the last digit splits them, ~12 a value
      const low = tf.tensor2d([Array.from({ length: 3000 }, (_, i) => 1 + ((i * 7919) % 256) * 2 ** -23)]);
      // every token tied: the cut falls inside 2000 ties, across splits of 286
      const tied = tf.zeros([2, 2000]);
      const cases: [Tensor, RadixFilters, number][] = [
        [tail, attrs(5, 4), 1],
        [ulps, attrs(100, 5), 3],
        [low, attrs(100, 5), 4],
        [tied, attrs(300, 7), 4],
      ];
      for (const [logits, a, pass] of cases) {
        const { statuses, draws } = await radixDrawByStep(logits, a, 7);
        expect(listedAt(statuses), `k = ${a.k}`).toEqual(new Array(logits.shape[0]).fill(pass));
        expect(idsOf(draws), `k = ${a.k}`).toEqual(idsOf(await hostDraws(logits, a, 7)));
      }
      const tiedIds = idsOf((await radixDrawByStep(tied, attrs(300, 7), 8)).draws);
      for (const id of tiedIds) expect(id).toBeLessThan(300);
      tf.dispose([tail, ulps, low, tied]);
      // and, one call at a time, the other programs the tests below meet: the one-workgroup path, and the
      // closed forms' radix cut (no cut, top-p, top-k then top-p) with the blocked draw
      const s = randomLogits(2, 1000, 40);
      for (const f of [filters(1, 20, 0.9, 0), filters(1, 0, 1, 0), filters(1, 0, 0.9, 0), filters(1, 600, 0.7, 0)]) {
        for (const select of ['row', 'split'] as const) await opDraws(s, { ...f, select, splits: 2 }, 1);
      }
      s.dispose();
    }, 600_000);

    it('draws the same tokens as the one-workgroup path and the host kernel on random rows, 1 to 7 splits a row', async () => {
      const logits = randomLogits(5, 1000, 41, 4);
      for (const splits of [undefined, 3, 7]) {
        for (const f of [
          filters(1, 1, 1, 0),
          filters(0.8, 7, 1, 0),
          filters(0.7, 50, 0.9, 0),
          filters(1, 300, 0.95, 0.02),
          filters(1.2, 512, 0.5, 0),
          filters(1, 50, 1, 0.1),
          filters(1.3, 200, 0.3, 0.05),
        ]) {
          for (const seed of [3, 4]) await expectSameAsRowAndHost(logits, f, seed, splits);
        }
      }
      logits.dispose();
    });

    it('resolves ties by lower token id at the top-k and top-p cuts, across splits', async () => {
      const logits = tiedLogits(6, 700, 42);
      for (const [k, p] of [
        [1, 1],
        [13, 1],
        [40, 0.61],
        [200, 1],
        [200, 0.83],
        [512, 0.5],
      ] as const) {
        for (const seed of [5, 6]) await expectSameAsRowAndHost(logits, filters(0.9, k, p, 0), seed, 5);
      }
      logits.dispose();
      // all equal, more ties than the list holds: ids 0…299 by the tie break, 0…110 for p = 0.3711
      const zeros = tf.zeros([4, 2000]);
      for (const seed of [1, 2, 3]) {
        const ids = await expectSameAsRowAndHost(zeros, filters(1, 300, 1, 0), seed, 7);
        for (const id of ids) expect(id).toBeLessThan(300);
        const nucleus = await expectSameAsRowAndHost(zeros, filters(1, 300, 0.3711, 0), seed, 7);
        for (const id of nucleus) expect(id).toBeLessThanOrEqual(111);
      }
      const argmax = await opDraws(zeros, { ...filters(1, 1, 1, 0), select: 'split', splits: 7 }, 4);
      expect(argmax).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      zeros.dispose();
      // 5 tokens over 4 splits: the argmax for k = 1 and for a tiny p, the lowest id among tied maxima
      const short = tf.tensor2d([
        [0.5, 2, 1, 2, -1],
        [3, -2, 3, 3, 0],
      ]);
      for (const f of [filters(1, 1, 1, 0), filters(5, 3, 1e-6, 0)]) {
        expect(idsOf(await opDraws(short, { ...f, select: 'split', splits: 4 }, 8)), JSON.stringify(f)).toEqual([1, 0]);
      }
      for (const seed of [8, 9, 10]) await expectSameAsRowAndHost(short, filters(1, 4, 1, 0.9), seed, 4);
      short.dispose();
    });

    it('applies the non-finite rules: +∞ tokens alone (their limit), −∞ never drawn, (−1, NaN) for NaN and all −∞ rows', async () => {
      const values = new Float32Array(6 * 1200).map((_, i) => Math.sin(i));
      for (const i of [3, 200, 599, 1100]) values[i] = INF;
      values[1200 + 7] = INF;
      values[2400 + 5] = Number.NaN;
      values.fill(NEG_INF, 3600, 4800);
      // a row with 134 finite tokens (ids divisible by 9)
      for (let c = 0; c < 1200; c++) if (c % 9 !== 0) values[4800 + c] = NEG_INF;
      // 600 +∞ tokens, more than a list holds
      for (let i = 6000; i < 7200; i += 2) values[i] = INF;
      const logits = tf.tensor2d(values, [6, 1200]);
      for (const [k, p, pMin] of [
        [2, 1, 0],
        [3, 1, 0],
        [50, 1, 0],
        [200, 0.5, 0],
        [512, 0.99, 0.5],
      ] as const) {
        for (const splits of [1, 4]) {
          for (const seed of [0, 1, 2]) await expectSameAsRowAndHost(logits, filters(0.7, k, p, pMin), seed, splits);
        }
      }
      const out = await opDraws(logits, { ...filters(1, 50, 1, 0), select: 'split', splits: 4 }, 9);
      expect([3, 200, 599, 1100]).toContain(out[0]);
      expect(out[1]).toBeCloseTo(-Math.log(4), 5);
      expect(out.slice(2, 4)).toEqual([7, 0]);
      expect(out[4]).toBe(-1);
      expect(out[6]).toBe(-1);
      expect((out[8] as number) % 9).toBe(0);
      // the first 50 of the 600 +∞ tokens by id: 0, 2, …, 98, drawn uniformly
      expect((out[10] as number) % 2).toBe(0);
      expect(out[10]).toBeLessThan(100);
      expect(out[11]).toBeCloseTo(-Math.log(50), 5);
      expect([out[5], out[7]].every(Number.isNaN)).toBe(true);
      logits.dispose();
    });

    it('takes the closed forms’ radix cut and the blocked draw for no top-k or a larger one', async () => {
      const logits = randomLogits(4, 3000, 43, 0.5);
      for (const f of [
        filters(1, 0, 0.9, 0),
        filters(0.8, 2500, 0.7, 0.5),
        filters(1, 0, 1, 0.2),
        filters(1.1, 0, 1, 0),
        filters(1, 600, 1, 0),
      ]) {
        for (const seed of [12, 13]) await expectSameAsRowAndHost(logits, f, seed, 3);
      }
      logits.dispose();
      const marked = tf.tensor2d([
        [0, 1, Number.NaN, 2, 3, 4],
        [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF],
        [0, INF, 3, INF, NEG_INF, 1],
        [NEG_INF, 2, NEG_INF, 0.5, -2, NEG_INF],
      ]);
      for (const f of [filters(1, 0, 0.6, 0), filters(1, 0, 1, 0)]) {
        for (const seed of [1, 2]) {
          const ids = await expectSameAsRowAndHost(marked, f, seed, 2);
          expect(ids.slice(0, 2)).toEqual([-1, -1]);
          expect([1, 3]).toContain(ids[2]);
        }
      }
      marked.dispose();
    });

    it('equals the host kernel on rows that `auto` sends to the radix select (1 × 131072, 3 × 20011)', async () => {
      const wide = randomLogits(1, 131072, 44, 8);
      expect(useRadixDraw(undefined, 1, 131072)).toBe(true);
      for (const o of [{ topK: 50, topP: 0.9, temperature: 0.7 }, { topK: 1 }, { topK: 400, minP: 0.2 }, { topP: 0.9, temperature: 0.8 }]) {
        for (const seed of [1, 2]) {
          const out = sampleFromLogits(wide, { ...o, seed });
          const host = await hostDraws(wide, { temperature: o.temperature ?? 1, k: o.topK ?? 0, p: o.topP ?? 1, pMin: o.minP ?? 0 }, seed);
          expect(Array.from(await out.ids.data()), JSON.stringify(o)).toEqual(idsOf(host));
          await expectAllClose(out.logprobs, logprobsOf(host), { atol: 1e-4, message: JSON.stringify(o) });
          tf.dispose([out.ids, out.logprobs]);
        }
      }
      wide.dispose();
      const batch = tiedLogits(3, 20011, 45);
      for (const seed of [3, 4]) await expectSameAsRowAndHost(batch, filters(0.9, 50, 0.9, 0.01), seed);
      batch.dispose();
    });

    it('leaks nothing', async () => {
      const s = randomLogits(3, 600, 46);
      const stream = { seed: 1, offset: 0 };
      await expectNoLeaks(() => fusedSampleIdsOp({ logits: s }, { ...filters(0.9, 20, 0.9, 0.01), select: 'split', splits: 3, ...stream }));
      await expectNoLeaks(() => fusedSampleIdsOp({ logits: s }, { ...filters(1, 0, 0.8, 0), select: 'split', splits: 3, ...stream }));
      const wide = tf.zeros([2, 16384]);
      await expectNoLeaks(() => sampleFromLogits(wide, { topK: 20, topP: 0.9, seed: 1 }));
      tf.dispose([s, wide]);
    });
  },
  { backends: ['webgpu'] },
);

describe('useRadixDraw (the fused sampler’s WebGPU path by shape)', () => {
  it('takes the radix select for rows of 16384 tokens and more that it splits, unless forced', () => {
    for (const rows of [1, 64, 256]) expect(useRadixDraw(undefined, rows, 131072), `${rows} rows`).toBe(true);
    expect(useRadixDraw('auto', 512, 131072)).toBe(false);
    expect(useRadixDraw(undefined, 4, 8192)).toBe(false);
    expect(useRadixDraw(undefined, 1, 16384)).toBe(true);
    expect(useRadixDraw('row', 1, 131072)).toBe(false);
    expect(useRadixDraw('split', 512, 10)).toBe(true);
  });
});
