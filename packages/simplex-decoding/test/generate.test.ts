import { DtypeError, philoxUniformArray, ShapeError, tf, TesseraError, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { AbortError, continuationSeed, generate, sampleN, type StepModel } from '../src/generate/index.js';
import { createSampler } from '../src/sampler/index.js';

const V = 8;

/** A bigram model: the next-token logits are row `last token` of a fixed table; it logs every call. */
function bigram(seed = 5): StepModel<{ calls: number }> & { table: number[][]; calls: { ids: number[]; state: unknown }[] } {
  const flat = Array.from(philoxUniformArray(V * V, seed, 0));
  const table = Array.from({ length: V }, (_, i) => flat.slice(i * V, (i + 1) * V).map((x) => (x - 0.5) * 6));
  const calls: { ids: number[]; state: unknown }[] = [];
  return {
    table,
    calls,
    step(ids, state) {
      calls.push({ ids: [...ids], state });
      const last = ids[ids.length - 1] as number;
      return { logits: tf.tensor1d(table[last] as number[]), state: { calls: (state?.calls ?? 0) + 1 } };
    },
  };
}

async function collect(it: AsyncIterable<{ id: number; logprob: number }>): Promise<{ ids: number[]; logprobs: number[] }> {
  const ids: number[] = [];
  const logprobs: number[] = [];
  for await (const t of it) {
    ids.push(t.id);
    logprobs.push(t.logprob);
  }
  return { ids, logprobs };
}

describeBackends('generate', () => {
  const sampler = createSampler({ temperature: 1.5 });

  it('feeds the whole prompt first, then the last token with the returned state, up to maxTokens', async () => {
    const model = bigram();
    const { ids } = await collect(generate(model, [1, 2, 3], { sampler, maxTokens: 5, seed: 1 }));
    expect(ids).toHaveLength(5);
    expect(model.calls[0]).toEqual({ ids: [1, 2, 3], state: undefined });
    for (let t = 1; t < 5; t++) expect(model.calls[t]).toEqual({ ids: [ids[t - 1]], state: { calls: t } });
  });

  it('draws step t at Philox offset t, so it matches sampling the model by hand', async () => {
    const model = bigram();
    const got = await collect(generate(model, [0], { sampler, maxTokens: 6, seed: 42 }));
    let last = 0;
    for (let t = 0; t < 6; t++) {
      const logits = tf.tensor1d(model.table[last] as number[]);
      const { ids, logprobs } = await sampler.sample(logits, { seed: 42, offset: t });
      logits.dispose();
      expect(got.ids[t]).toBe(ids[0]);
      expect(got.logprobs[t]).toBe(logprobs[0]);
      last = ids[0] as number;
    }
  });

  it('reproduces a sequence for a seed and changes it with the seed', async () => {
    const a = await collect(generate(bigram(), [0], { sampler, maxTokens: 12, seed: 9 }));
    const b = await collect(generate(bigram(), [0], { sampler, maxTokens: 12, seed: 9 }));
    const c = await collect(generate(bigram(), [0], { sampler, maxTokens: 12, seed: 10 }));
    expect(b).toEqual(a);
    expect(c.ids).not.toEqual(a.ids);
  });

  it('ends after yielding a stop token, given as a list or a predicate', async () => {
    const free = await collect(generate(bigram(), [0], { sampler, maxTokens: 12, seed: 3 }));
    const stop = free.ids[4] as number;
    const first = free.ids.indexOf(stop);
    const stopped = await collect(generate(bigram(), [0], { sampler, maxTokens: 12, seed: 3, stop: [stop] }));
    expect(stopped.ids).toEqual(free.ids.slice(0, first + 1));
    expect(stopped.ids.length).toBeLessThan(12);
    const byPredicate = await collect(generate(bigram(), [0], { sampler, maxTokens: 12, seed: 3, stop: (id) => id === stop }));
    expect(byPredicate.ids).toEqual(stopped.ids);
  });

  it('never calls the model for maxTokens 0', async () => {
    const model = bigram();
    expect(await collect(generate(model, [0], { sampler, maxTokens: 0, seed: 1 }))).toEqual({ ids: [], logprobs: [] });
    expect(model.calls).toHaveLength(0);
  });

  it('decodes greedily with logprob 0 and applies penalties over the generated ids', async () => {
    const greedy = await collect(generate(bigram(), [0], { sampler: createSampler({ greedy: true }), maxTokens: 6, seed: 0 }));
    const model = bigram();
    let last = 0;
    for (const id of greedy.ids) {
      const row = model.table[last] as number[];
      expect(id).toBe(row.indexOf(Math.max(...row)));
      last = id;
    }
    expect(greedy.logprobs).toEqual([0, 0, 0, 0, 0, 0]);
    // a huge presence penalty forbids repeats within the generation
    const distinct = await collect(
      generate(bigram(), [0], { sampler: createSampler({ greedy: true, presencePenalty: 1e6 }), maxTokens: V, seed: 0 }),
    );
    expect(new Set(distinct.ids).size).toBe(V);
  });

  it('ends with an AbortError when the signal fires, freeing the pending logits', async () => {
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const ids: number[] = [];
    const run = async () => {
      for await (const t of generate(bigram(), [0], { sampler, maxTokens: 50, seed: 1, signal: controller.signal })) {
        ids.push(t.id);
        if (ids.length === 3) controller.abort('enough');
      }
    };
    await expect(run()).rejects.toThrow(AbortError);
    expect(ids).toHaveLength(3);
    expect(tf.memory().numTensors).toBe(before);
    // aborted while a step is in flight: the step's logits are disposed
    const late = new AbortController();
    const slow: StepModel<undefined> = {
      async step() {
        const logits = tf.zeros([V]);
        late.abort();
        return { logits, state: undefined };
      },
    };
    const iterator = generate(slow, [0], { sampler, maxTokens: 5, seed: 1, signal: late.signal });
    await expect(iterator.next()).rejects.toThrow(/signal: expected not aborted, received an abort during step 0/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaks no tensors across a whole generation', async () => {
    await expectNoLeaks(async () => {
      await collect(generate(bigram(), [0], { sampler, maxTokens: 20, seed: 4 }));
      await collect(generate(bigram(), [0], { sampler: createSampler({ topK: 3, repetitionPenalty: 1.3 }), maxTokens: 10, seed: 4 }));
    });
  });
});

describeBackends('sampleN', () => {
  const sampler = createSampler({ temperature: 1.5 });

  it('draws n reproducible continuations, continuation i being generate with continuationSeed(seed, i)', async () => {
    const out = await sampleN(bigram(), [0], { n: 3, sampler, maxTokens: 6, seed: 11, decode: (ids) => ids.join(' ') });
    expect(out).toHaveLength(3);
    for (const [i, c] of out.entries()) {
      const alone = await collect(generate(bigram(), [0], { sampler, maxTokens: 6, seed: continuationSeed(11, i) }));
      expect(c).toEqual({ ...alone, text: alone.ids.join(' ') });
    }
    expect(await sampleN(bigram(), [0], { n: 3, sampler, maxTokens: 6, seed: 11 })).toEqual(
      out.map(({ ids, logprobs }) => ({ ids, logprobs })),
    );
    expect(new Set(out.map((c) => c.ids.join())).size).toBeGreaterThan(1);
  });

  it('leaks no tensors', async () => {
    await expectNoLeaks(async () => {
      await sampleN(bigram(), [0], { n: 2, sampler, maxTokens: 5, seed: 1, stop: [V - 1] });
    });
  });
});

describe('generate and sampleN bad input', () => {
  const sampler = createSampler({});
  const model = bigram();
  const opts = { sampler, maxTokens: 3, seed: 1 };

  it('rejects bad arguments when called, before any model step', () => {
    expect(() => generate(model, [0], { ...opts, maxTokens: -1 })).toThrow(/maxTokens: expected an integer ≥ 0, received -1/);
    expect(() => generate(model, [0], { ...opts, seed: 0.5 })).toThrow(/seed: expected an integer ≥ 0/);
    expect(() => generate(model, [], opts)).toThrow(/promptIds: expected a non-empty array of token ids/);
    expect(() => generate(model, [0, -2], opts)).toThrow(/promptIds\[1\]: expected an integer ≥ 0, received -2/);
    expect(() => generate({} as StepModel, [0], opts)).toThrow(/model: expected an object with step\(ids, state\)/);
    expect(() => generate(model, [0], { ...opts, sampler: {} as typeof sampler })).toThrow(
      /sampler: expected a sampler from createSampler/,
    );
    expect(() => generate(model, [0], { ...opts, stop: [1.5] })).toThrow(/stop\[0\]: expected an integer ≥ 0, received 1.5/);
    expect(() => generate(model, [0], { ...opts, stop: 3 as unknown as number[] })).toThrow(ValueError);
    expect(model.calls).toHaveLength(0);
  });

  it('rejects a model step that returns logits of the wrong shape, freeing them', async () => {
    const before = tf.memory().numTensors;
    const wide: StepModel<undefined> = { step: () => ({ logits: tf.zeros([2, V]), state: undefined }) };
    await expect(generate(wide, [0], opts).next()).rejects.toThrow(ShapeError);
    await expect(generate(wide, [0], opts).next()).rejects.toThrow(/model.step\(\): expected logits of shape \[V\] or \[1, V\] at step 0/);
    const ints: StepModel<undefined> = { step: () => ({ logits: tf.zeros([V], 'int32') as Tensor, state: undefined }) };
    await expect(generate(ints, [0], opts).next()).rejects.toThrow(DtypeError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a bad n or decode for sampleN', async () => {
    await expect(sampleN(model, [0], { ...opts, n: 0 })).rejects.toThrow(/n: expected an integer ≥ 1, received 0/);
    await expect(sampleN(model, [0], { ...opts, n: 2, decode: 'x' as unknown as () => string })).rejects.toThrow(
      /decode: expected a function/,
    );
    await expect(sampleN(model, [0], { ...opts, n: 2, maxTokens: -1 })).rejects.toThrow(TesseraError);
  });
});
