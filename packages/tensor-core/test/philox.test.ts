import { describe, expect, it } from 'vitest';
import { philox4x32, philoxUniform, philoxUniformArray, tf, ValueError } from '../src/index.js';
import { mulhi32 } from '../src/philox/philox.js';
import { describeBackends, expectAllClose, expectNoLeaks } from '../src/testing/index.js';

const hex = (words: Uint32Array) => Array.from(words, (w) => w.toString(16).padStart(8, '0'));

describe('philox4x32 (Random123 known-answer vectors, philox4x32 10 rounds)', () => {
  // kat_vectors from Random123 1.14: counter (4 words), key (2 words) → output (4 words)
  const vectors: [number[], number[], string[]][] = [
    [
      [0, 0, 0, 0],
      [0, 0],
      ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8'],
    ],
    [
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'],
    ],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      ['d16cfe09', '94fdcceb', '5001e420', '24126ea1'],
    ],
  ];
  for (const [counter, key, expected] of vectors) {
    it(`ctr ${counter.map((w) => w.toString(16)).join(' ')} key ${key.map((w) => w.toString(16)).join(' ')}`, () => {
      expect(hex(philox4x32(counter, key))).toEqual(expected);
    });
  }

  it('mulhi32 equals the BigInt product', () => {
    const cases = [
      [0xd2511f53, 0xffffffff],
      [0xcd9e8d57, 0x12345678],
      [1, 1],
      [0xffffffff, 0xffffffff],
    ];
    for (const [a, b] of cases) {
      expect(mulhi32(a as number, b as number)).toBe(Number((BigInt(a as number) * BigInt(b as number)) >> 32n));
    }
  });
});

describe('philoxUniformArray', () => {
  it('continues one stream across calls with advancing offsets', () => {
    const whole = philoxUniformArray(23, 99, 5);
    const a = philoxUniformArray(6, 99, 5);
    const b = philoxUniformArray(17, 99, 11);
    expect([...a, ...b]).toEqual([...whole]);
  });

  it('maps block words to [0,1) by their top 24 bits', () => {
    const words = philox4x32([0, 0, 0, 0], [0, 0]);
    expect(Array.from(philoxUniformArray(4, 0, 0))).toEqual(Array.from(words, (w) => (w >>> 8) / 2 ** 24));
  });

  it('is roughly uniform (mean, variance, and a 16-bin chi-square)', () => {
    const n = 1 << 16;
    const u = philoxUniformArray(n, 1234, 0);
    let sum = 0;
    let sq = 0;
    const bins = new Array(16).fill(0);
    for (const v of u) {
      sum += v;
      sq += v * v;
      bins[Math.floor(v * 16)]++;
    }
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sq / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
    const e = n / 16;
    const chi2 = bins.reduce((acc, o) => acc + (o - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(37.7); // 99.9th percentile of χ²(15)
  });
});

describeBackends('philoxUniform', () => {
  it('is bit-identical to the scalar reference, including offsets past 2^32 and 64-bit seeds', async () => {
    const cases = [
      { n: 1, seed: 0, offset: 0 },
      { n: 37, seed: 7, offset: 3 },
      { n: 1000, seed: 2 ** 40 + 17, offset: 2 ** 33 + 2 },
      { n: 4099, seed: 123456789, offset: 4 * (2 ** 32 - 2) + 1 },
    ];
    for (const { n, seed, offset } of cases) {
      const t = philoxUniform([n], { seed, offset });
      const got = new Uint32Array((await t.data()).slice().buffer);
      const want = new Uint32Array(philoxUniformArray(n, seed, offset).buffer);
      expect(got).toEqual(want);
      t.dispose();
    }
  });

  it('reproduces the first Random123 vector at seed 0, offset 0', async () => {
    const t = philoxUniform([4], { seed: 0 });
    const expected = [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map((w) => (w >>> 8) / 2 ** 24);
    expect(Array.from(await t.data())).toEqual(expected);
    t.dispose();
  });

  it('shapes the stream and returns zeros for an empty shape', async () => {
    const t = philoxUniform([2, 3, 4], { seed: 5, offset: 1 });
    expect(t.shape).toEqual([2, 3, 4]);
    expect(Array.from(await t.data())).toEqual(Array.from(philoxUniformArray(24, 5, 1)));
    const e = philoxUniform([0, 3], { seed: 5 });
    expect(e.shape).toEqual([0, 3]);
    tf.dispose([t, e]);
  });

  it('maps the same stream onto [low, high)', async () => {
    const t = philoxUniform([2, 3], { seed: 7, offset: 2, low: -2, high: 3 });
    const expected = Array.from(philoxUniformArray(6, 7, 2), (u) => -2 + 5 * u);
    await expectAllClose(t, expected, { atol: 1e-6, rtol: 0 });
    const values = await t.data();
    expect(values.every((x) => x >= -2 && x < 3)).toBe(true);
    t.dispose();
  });

  it('leaks no tensors', async () => {
    await expectNoLeaks(() => philoxUniform([3, 5], { seed: 1, low: -1, high: 1 }));
    await expectNoLeaks(() => philoxUniform([3, 5], { seed: 1 }));
    await expectNoLeaks(() => philoxUniform([17], { seed: 1, offset: 9 }));
  });
});

describe('philoxUniform bad input', () => {
  it('names the argument, expectation and value', () => {
    expect(() => philoxUniform([2], { seed: -1 })).toThrow(ValueError);
    expect(() => philoxUniform([2], { seed: -1 })).toThrow(/seed: expected an integer ≥ 0 and ≤ 9007199254740991, received -1/);
    expect(() => philoxUniform([2], { seed: 1.5 })).toThrow(/seed: .*received 1.5/);
    expect(() => philoxUniform([2], { seed: 1, offset: Number.NaN })).toThrow(/offset: .*received NaN/);
    expect(() => philoxUniform([2, -1], { seed: 1 })).toThrow(/shape\[1\]: expected an integer ≥ 0, received -1/);
    expect(() => philoxUniform([2], { seed: 1, offset: Number.MAX_SAFE_INTEGER })).toThrow(/offset: expected offset \+ size/);
    expect(() => philoxUniform([2], { seed: 1, low: 1, high: 1 })).toThrow(
      /high: expected a finite number > 1, received 1 \(high must exceed low\)/,
    );
    expect(() => philoxUniform([2], { seed: 1, lo: 0 } as never)).toThrow(
      /opts.lo: expected one of the known options \(seed, offset, low, high\), received an unknown option \(did you mean low\?\)/,
    );
  });
});
