import { philoxUniform, tf, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { bestOfK } from '../src/best-of-k/index.js';
import { entmax, minP, softmax, sparsemax, topK, topP } from '../src/closed-forms/index.js';
import { sample } from '../src/sample/index.js';
import { createSampler, type SamplerSpec } from '../src/sampler/index.js';

const NINF = Number.NEGATIVE_INFINITY;

function randomLogits(rows: number, cols: number, seed: number, scale = 8): Tensor {
  return tf.tidy(() => tf.mul(tf.sub(philoxUniform([rows, cols], { seed }), 0.5), scale));
}

/** Keeps `z` where `q > 0`, −∞ elsewhere: the support a closed form leaves to the next stage. */
function survivors(z: Tensor, q: Tensor): Tensor {
  return tf.where(tf.greater(q, 0), z, NINF);
}

describeBackends('createSampler', () => {
  it('is the tempered softmax by default and takes the fused path on the common specs only', async () => {
    const x = randomLogits(3, 30, 1);
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
    const x = randomLogits(4, 40, 2);
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
    const x = randomLogits(2, 30, 3);
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
    const x = randomLogits(6, 64, 4, 6);
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
    const x = randomLogits(3, 50, 5);
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

  it('rejects NaN and +∞ logits, and rows with every token masked, when sampling', async () => {
    const bad = tf.tensor2d([[0, Number.NaN, 1]]);
    await expect(createSampler({}).sample(bad, { seed: 1 })).rejects.toThrow(/logits: expected finite values or -Infinity, received NaN/);
    await expect(createSampler({ typical: 0.5 }).sample(tf.tensor1d([0, Number.POSITIVE_INFINITY]), { seed: 1 })).rejects.toThrow(
      ValueError,
    );
    bad.dispose();
  });

  it('leaks no tensors', async () => {
    const x = randomLogits(2, 30, 6);
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

describe('createSampler bad input', () => {
  const cases: [string, SamplerSpec, RegExp][] = [
    ['an unknown field', { topk: 5 } as SamplerSpec, /spec.topk: expected one of greedy, temperature/],
    [
      'temperature 0',
      { temperature: 0 },
      /spec.temperature: expected a finite number > 0, received 0 \(for temperature 0 use greedy\(\)\)/,
    ],
    ['topK 0', { topK: 0 }, /spec.topK: expected an integer ≥ 1, received 0/],
    ['topP 0', { topP: 0 }, /spec.topP: expected a finite number > 0 and ≤ 1, received 0/],
    ['minP > 1', { minP: 1.5 }, /spec.minP: expected a finite number ≥ 0 and ≤ 1, received 1.5/],
    ['typical 0', { typical: 0 }, /spec.typical: expected a finite number > 0 and ≤ 1, received 0/],
    ['epsilon 1', { epsilon: 1 }, /spec.epsilon: expected a finite number ≥ 0 and < 1, received 1/],
    [
      'a repetition penalty of 0',
      { repetitionPenalty: 0 },
      /spec.repetitionPenalty: expected a finite number > 0, received 0 \(1 turns it off\)/,
    ],
    ['a NaN presence penalty', { presencePenalty: Number.NaN }, /spec.presencePenalty: expected a finite number, received NaN/],
    ['greedy with a temperature', { greedy: true, temperature: 0.5 }, /spec.temperature: expected nothing with greedy: true/],
    ['a non-boolean greedy', { greedy: 1 as unknown as boolean }, /spec.greedy: expected a boolean, received 1/],
    ['an unknown regulariser', { regularizer: 'entropy' as 'softmax' }, /spec.regularizer: expected 'softmax', 'sparsemax' or/],
    ['an unknown regulariser kind', { regularizer: { kind: 'beam' } as unknown as 'softmax' }, /spec.regularizer.kind: expected/],
    [
      'entmax with α = 1',
      { regularizer: { kind: 'entmax', alpha: 1 } },
      /spec.regularizer.alpha: expected a finite number > 1, received 1/,
    ],
    [
      'sparsemax with λ = 0',
      { regularizer: { kind: 'sparsemax', lambda: 0 } },
      /spec.regularizer.lambda: expected a finite number > 0, received 0/,
    ],
    [
      'Best-of-K without K',
      { regularizer: { kind: 'bestOfK', preset: 'mild' } as unknown as 'softmax' },
      /spec.regularizer.k: expected an integer ≥ 1/,
    ],
    [
      'Best-of-K with λ < 0',
      { regularizer: { kind: 'bestOfK', k: 2, lambda: -1, beta: 1 } },
      /spec.regularizer.lambda: expected a finite number ≥ 0/,
    ],
    [
      'Best-of-K with its own temperature',
      { regularizer: { kind: 'bestOfK', k: 2, preset: 'mild', temperature: 2 } as unknown as 'softmax' },
      /spec.regularizer.temperature: expected no temperature inside the regulariser/,
    ],
  ];
  for (const [name, spec, message] of cases) {
    it(`rejects ${name} when created`, () => {
      expect(() => createSampler(spec)).toThrow(ValueError);
      expect(() => createSampler(spec)).toThrow(message);
    });
  }

  it('rejects a spec that is not an object', () => {
    expect(() => createSampler(null as unknown as SamplerSpec)).toThrow(/spec: expected a sampler spec object, received null/);
  });

  it('rejects per-call arguments that do not fit the logits', async () => {
    const x = tf.tensor2d([[0, 1, 2]]);
    expect(() => createSampler({ topK: 4, typical: 0.9 }).distribution(x)).toThrow(/spec.topK: expected an integer ≥ 1 and ≤ 3/);
    await expect(createSampler({ topK: 4 }).sample(x, { seed: 1 })).rejects.toThrow(/spec.topK: expected an integer ≥ 1 and ≤ 3/);
    expect(() => createSampler({ repetitionPenalty: 2 }).distribution(x, { generatedIds: [[3]] })).toThrow(
      /generatedIds\[0\]\[0\]: expected an integer ≥ 0 and ≤ 2, received 3/,
    );
    expect(() => createSampler({}).distribution(x, { promptIds: [[0], [1]] })).toThrow(/promptIds: expected 1 arrays of token ids/);
    await expect(createSampler({}).sample(x, { seed: -1 })).rejects.toThrow(/seed: expected an integer ≥ 0/);
    await expect(createSampler({}).sample(x, { seed: 1, offset: 0.5 })).rejects.toThrow(/offset: expected an integer ≥ 0/);
    x.dispose();
  });
});
