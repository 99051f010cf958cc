import { type Tensor, tf, ValueError } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { bestOfK, createSampler, entmax, minP, type SamplerSpec, sample, softmax, sparsemax, topK, topP } from '../src/index.js';
import { INF, NEG_INF as NINF, randomLogits } from './cases.js';

/** Keeps `z` where `q > 0`, −∞ elsewhere: the support a closed form leaves to the next stage. */
function survivors(z: Tensor, q: Tensor): Tensor {
  return tf.where(tf.greater(q, 0), z, NINF);
}

describeBackends('createSampler', () => {
  it('is the tempered softmax by default and takes the fused path on the common specs only', async () => {
    const x = randomLogits(3, 30, 1, 4);
    const plain = createSampler({ temperature: 0.7 });
    await expectAllClose(plain.distribution(x), softmax(x, { temperature: 0.7 }), { atol: 1e-6 });
    expect(plain.fused).toBe(true);
    expect(createSampler({ topK: 5, topP: 0.9, minP: 0.1 }).fused).toBe(true);
    expect(createSampler({ topK: 5, typical: 0.9 }).fused).toBe(false);
    expect(createSampler({ repetitionPenalty: 1.2 }).fused).toBe(false);
    expect(createSampler({ repetitionPenalty: 1, presencePenalty: 0 }).fused).toBe(true);
    expect(createSampler({ regularizer: 'sparsemax' }).fused).toBe(false);
    expect(createSampler({ greedy: true }).fused).toBe(false);
    x.dispose();
  });

  it('chains temperature → topK → topP → minP, each on the survivors of the previous stage', async () => {
    const x = randomLogits(4, 40, 2, 4);
    const T = 0.8;
    const expected = tf.tidy(() => {
      const z = tf.div(x, tf.scalar(T));
      const afterK = survivors(z, topK(z, { k: 12 }));
      const afterP = survivors(afterK, topP(afterK, { p: 0.8 }));
      const afterMin = survivors(afterP, minP(afterP, { pMin: 0.05 }));
      return softmax(afterMin);
    });
    const q = createSampler({ temperature: T, topK: 12, topP: 0.8, minP: 0.05 }).distribution(x);
    await expectAllClose(q, expected, { atol: 1e-6 });
    tf.dispose([x, expected, q]);
  });

  it('applies the repetition penalty over prompt and generated ids, presence and frequency over generated ids only', async () => {
    const x = tf.tensor2d([[1, -1, 2, 0.5]]);
    const s = createSampler({ repetitionPenalty: 2, presencePenalty: 0.5, frequencyPenalty: 0.25 });
    const q = s.distribution(x, { promptIds: [[0]], generatedIds: [[1, 1, 2]] });
    // token 0: seen in the prompt, 1/2; token 1: −1·2 − 0.5 − 2·0.25; token 2: 2/2 − 0.5 − 0.25; token 3 untouched
    await expectAllClose(q, softmax(tf.tensor2d([[0.5, -3, 0.25, 0.5]])), { atol: 1e-6 });
    // without history no token is penalised
    await expectAllClose(s.distribution(x), softmax(x), { atol: 1e-6 });
    tf.dispose([x, q]);
  });

  it('ends with the chosen regulariser on the constrained, tempered scores', async () => {
    const x = randomLogits(2, 30, 3, 4);
    const T = 0.7;
    const z = tf.div(x, tf.scalar(T));
    const masked = survivors(z, topK(z, { k: 10 }));
    const maskedLogits = survivors(x, topK(z, { k: 10 }));
    const cases: [SamplerSpec, Tensor][] = [
      [{ temperature: T, topK: 10, regularizer: 'sparsemax' }, sparsemax(masked)],
      [{ temperature: T, topK: 10, regularizer: { kind: 'sparsemax', lambda: 0.5 } }, sparsemax(masked, { lambda: 0.5 })],
      [{ temperature: T, topK: 10, regularizer: { kind: 'entmax', alpha: 1.5 } }, entmax(masked, { alpha: 1.5 })],
      [
        { temperature: T, topK: 10, regularizer: { kind: 'bestOfK', k: 4, preset: 'mild' } },
        bestOfK(maskedLogits, { k: 4, preset: 'mild', temperature: T }),
      ],
    ];
    for (const [spec, expected] of cases) {
      const q = createSampler(spec).distribution(x);
      await expectAllClose(q, expected, { atol: 1e-6, message: JSON.stringify(spec.regularizer) });
      q.dispose();
    }
    tf.dispose([x, z, masked, maskedLogits, ...cases.map(([, e]) => e)]);
  });

  it('draws the same ids on the fused path as sample() over the composed distribution', async () => {
    const x = randomLogits(6, 64, 4, 3);
    for (const spec of [
      {},
      { temperature: 0.6 },
      { temperature: 1.3, topK: 20, topP: 0.9 },
      { topP: 0.7, minP: 0.05 },
      { topK: 1 },
    ] as SamplerSpec[]) {
      const s = createSampler(spec);
      expect(s.fused).toBe(true);
      for (const [seed, offset] of [
        [1, 0],
        [2, 6],
        [77, 123],
      ] as const) {
        const fused = await s.sample(x, { seed, offset });
        const q = s.distribution(x);
        const out = sample(q, { seed, offset });
        expect(fused.ids, JSON.stringify({ spec, seed })).toEqual(Array.from(await out.ids.data()));
        await expectAllClose(fused.logprobs, out.logprobs, { atol: 1e-4 });
        tf.dispose([q, out.ids, out.logprobs]);
      }
    }
    x.dispose();
  });

  it('samples composed specs with sample() over their distribution, and greedy by argmax', async () => {
    const x = randomLogits(3, 50, 5, 4);
    const spec: SamplerSpec = { temperature: 0.9, typical: 0.8, regularizer: { kind: 'bestOfK', k: 4, preset: 'medium' } };
    const s = createSampler(spec);
    const drawn = await s.sample(x, { seed: 3, offset: 9 });
    const q = s.distribution(x);
    const out = sample(q, { seed: 3, offset: 9 });
    expect(drawn.ids).toEqual(Array.from(await out.ids.data()));
    const greedy = await createSampler({ greedy: true }).sample(x, { seed: 0 });
    expect(greedy.ids).toEqual(Array.from(await tf.argMax(x, 1).data()));
    expect(greedy.logprobs).toEqual([0, 0, 0]);
    tf.dispose([x, q, out.ids, out.logprobs]);
  });

  it('rejects NaN and +∞ logits naming the row and token, and rows with every token masked, on the fused and composed paths', async () => {
    // sampleFromLogits([[1, NaN, 0, 0]]) draws (−1, NaN): the async sampler reads the logits and rejects
    const nan = tf.tensor2d([
      [0, 1, 2, 3],
      [1, Number.NaN, 0, 0],
    ]);
    const inf = tf.tensor1d([0, INF, 1]);
    const masked = tf.tensor2d([
      [0, 1, 2],
      [NINF, NINF, NINF],
    ]);
    for (const spec of [{}, { topK: 2, topP: 0.9 }, { typical: 0.5 }, { regularizer: 'sparsemax' }, { greedy: true }] as SamplerSpec[]) {
      const s = createSampler(spec);
      await expect(s.sample(nan, { seed: 1 }), JSON.stringify(spec)).rejects.toThrow(
        'logits: expected finite values or -Infinity, received NaN at row 1, token 1',
      );
      await expect(s.sample(inf, { seed: 1 }), JSON.stringify(spec)).rejects.toThrow(
        'logits: expected finite values or -Infinity, received Infinity at row 0, token 1',
      );
      await expect(s.sample(masked, { seed: 1 }), JSON.stringify(spec)).rejects.toThrow(ValueError);
      await expect(s.sample(masked, { seed: 1 }), JSON.stringify(spec)).rejects.toThrow('received row 1 with every token masked');
    }
    tf.dispose([nan, inf, masked]);
  });

  it('leaks no tensors', async () => {
    const x = randomLogits(2, 30, 6, 4);
    const history = { promptIds: [[1], [2]], generatedIds: [[3, 3], []] };
    for (const spec of [
      {},
      { topK: 5, topP: 0.9 },
      { repetitionPenalty: 1.3, frequencyPenalty: 0.2, epsilon: 0.01 },
      { regularizer: { kind: 'bestOfK', k: 2, preset: 'strong' } },
      { greedy: true, presencePenalty: 1 },
    ] as SamplerSpec[]) {
      const s = createSampler(spec);
      await expectNoLeaks(() => s.distribution(x, history));
      await expectNoLeaks(async () => {
        await s.sample(x, { seed: 1, ...history });
      });
    }
    x.dispose();
  });
});
