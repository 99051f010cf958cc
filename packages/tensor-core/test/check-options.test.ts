import { describe, expect, it } from 'vitest';
import { checkOptions, tf, ValueError } from '../src/index.js';
import { badInput, itRejects } from '../src/testing/index.js';

interface Opts {
  temperature?: number;
  seed?: number;
  topK?: number;
}
const KNOWN = ['temperature', 'seed', 'topK'] as const;

describe('checkOptions', () => {
  it('returns the object, and {} for undefined', () => {
    const o = { temperature: 0.7 };
    expect(checkOptions<Opts>(o, KNOWN)).toBe(o);
    expect(checkOptions<Opts>(undefined, KNOWN)).toEqual({});
  });

  it('accepts known keys whose value is undefined', () => {
    expect(checkOptions<Opts>({ seed: undefined }, KNOWN)).toEqual({ seed: undefined });
  });

  it('names an unknown key, lists the known ones and suggests the nearest', () => {
    expect(() => checkOptions({ temprature: 0.7 } as Opts, KNOWN)).toThrow(
      'opts.temprature: expected one of the known options (temperature, seed, topK), received an unknown option (did you mean temperature?)',
    );
    expect(() => checkOptions({ topk: 5 } as Opts, KNOWN, 'sampler')).toThrow(/^sampler\.topk: .*\(did you mean topK\?\)$/);
    expect(() => checkOptions({ beam: 3 } as Opts, KNOWN)).toThrow(
      /opts\.beam: expected one of the known options \(temperature, seed, topK\), received an unknown option$/,
    );
  });

  it('rejects what is not an options object', () => {
    for (const bad of [null, 3, 'fast', [1, 2]]) {
      expect(() => checkOptions(bad as unknown as Opts, KNOWN)).toThrow(ValueError);
    }
    expect(() => checkOptions(null as unknown as Opts, KNOWN)).toThrow(
      'opts: expected an options object { temperature, seed, topK }, received null',
    );
    const t = tf.scalar(1);
    expect(() => checkOptions(t as unknown as Opts, KNOWN)).toThrow(/received Tensor<float32>\[\]/);
    t.dispose();
  });
});

describe('badInput tables', () => {
  const failing = (c: Parameters<typeof badInput<{ x: ReturnType<typeof tf.scalar> }>>[0]) => badInput(c);

  itRejects([
    badInput({ name: 'a sync throw', call: () => checkOptions({ x: 1 } as Opts, KNOWN), error: ValueError, message: 'opts.x' }),
    badInput({
      name: 'an async rejection, with tensors built before the call',
      inputs: () => ({ x: tf.scalar(1) }),
      call: async ({ x }) => {
        await x.data();
        throw new ValueError('x: expected 2, received 1');
      },
      error: ValueError,
      message: /x: expected 2/,
    }),
  ]);

  it('fails a case that returns, that throws another class or message, or that leaks', async () => {
    await expect(
      failing({
        name: 'returns',
        inputs: () => ({ x: tf.scalar(1) }),
        call: ({ x }) => tf.add(x, 1),
        error: ValueError,
        message: 'x',
      }).run(),
    ).rejects.toThrow(/but the call returned/);
    await expect(
      badInput({
        name: 'other class',
        call: () => {
          throw new TypeError('x');
        },
        error: ValueError,
        message: 'x',
      }).run(),
    ).rejects.toThrow();
    await expect(
      badInput({
        name: 'other message',
        call: () => {
          throw new ValueError('y');
        },
        error: ValueError,
        message: 'x',
      }).run(),
    ).rejects.toThrow();
    let leaked: ReturnType<typeof tf.scalar> | undefined;
    await expect(
      badInput({
        name: 'leaks',
        call: () => {
          leaked = tf.scalar(2);
          throw new ValueError('x');
        },
        error: ValueError,
        message: 'x',
      }).run(),
    ).rejects.toThrow(/live tensors after the error/);
    leaked?.dispose();
  });
});
