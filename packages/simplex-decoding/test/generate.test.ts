import { DtypeError, ShapeError, type Tensor, tf, AbortError } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { continuationSeed, createSampler, generate, sampleN, type StepModel } from '../src/index.js';
import { bigram, V } from './cases.js';

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

describe('generate: a model step that returns bad logits', () => {
  const opts = { sampler: createSampler({}), maxTokens: 3, seed: 1 };

  it('rejects logits of the wrong shape or dtype, freeing them', async () => {
    const before = tf.memory().numTensors;
    const wide: StepModel<undefined> = { step: () => ({ logits: tf.zeros([2, V]), state: undefined }) };
    await expect(generate(wide, [0], opts).next()).rejects.toThrow(ShapeError);
    await expect(generate(wide, [0], opts).next()).rejects.toThrow(/model.step\(\): expected logits of shape \[V\] or \[1, V\] at step 0/);
    const ints: StepModel<undefined> = { step: () => ({ logits: tf.zeros([V], 'int32') as Tensor, state: undefined }) };
    await expect(generate(ints, [0], opts).next()).rejects.toThrow(DtypeError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects NaN logits naming the step's row and token, freeing them", async () => {
    const before = tf.memory().numTensors;
    const broken: StepModel<undefined> = { step: () => ({ logits: tf.tensor1d([0, 1, Number.NaN, 2]), state: undefined }) };
    await expect(generate(broken, [0], opts).next()).rejects.toThrow(
      'logits: expected finite values or -Infinity, received NaN at row 0, token 2',
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
