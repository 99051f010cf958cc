import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { keptPrefix } from '../src/fused/host.js';
import { fusedSampleIdsOp, fusedSampleOp } from '../src/fused/op.js';
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

  it('agrees with its tfjs reference', async () => {
    const logits = tiedLogits(4, 500, 7);
    const attrs = { temperature: 0.8, k: 60, p: 0.9, pMin: 0.05 };
    const u = philoxUniform([4], { seed: 21 });
    const ours = fusedSampleOp({ logits, u }, attrs);
    const [ref] = await onCpu([logits, u], (x, y) => [fusedSampleOp.reference({ logits: x as Tensor, u: y as Tensor }, attrs)]);
    await expectAllClose(ours, ref as number[], { atol: 1e-4 });
    tf.dispose([logits, u, ours]);
  });

  it('runs one host kernel (uniforms drawn inside) on cpu and wasm, agreeing with its reference', async () => {
    expect(fusedSampleIdsOp.hasKernel(), backend).toBe(backend !== 'webgpu');
    // WebGPU runs `fusedSampleOp` (sampleFromLogits asks hasKernel); here the reference would meet itself
    if (backend === 'webgpu') return;
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
    const n = keptPrefix(idx, 6, z, () => 1, 2);
    expect(Array.from(idx.slice(0, n)).sort()).toEqual([1, 2]);
    const w = (i: number): number => [0.1, 0.3, 0.3, 0.05, 0.15, 0.1][i] as number;
    const idx2 = Int32Array.from([5, 4, 3, 2, 1, 0]);
    // ranked 1, 2, 5, 4, 0, 3 with masses above 0, .3, .6, .7, .85, .95: p = 0.65 keeps 1, 2, 5
    expect(Array.from(idx2.slice(0, keptPrefix(idx2, 6, z, w, 0.65))).sort()).toEqual([1, 2, 5]);
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

  it('reports a NaN or a +∞ (after the division) for the general path', () => {
    const s = new Float32Array(3000).fill(1);
    s[2500] = Number.NaN;
    expect(topKOfRow(s, 1, 10).status).toBe('nan');
    s[2500] = Number.POSITIVE_INFINITY;
    expect(topKOfRow(s, 1, 10).status).toBe('infinite');
    s[2500] = 3e38;
    expect(topKOfRow(s, 0.01, 10).status).toBe('infinite');
  });
});
