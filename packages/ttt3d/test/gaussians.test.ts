import { ShapeError, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it, describe } from 'vitest';
import { Gaussians, rgbToDc, SH_C0, dcToRgb, shDegreeOf } from '../src/gaussians/index.js';

/** N Gaussians whose every value encodes its row, so reordering shows. */
function numbered(n: number, k = 1): Gaussians {
  const fields = tf.tidy(() => {
    const row = tf.range(0, n, 1, 'float32');
    const col = (c: number): Tensor => tf.tile(tf.reshape(row, [n, 1]), [1, c]);
    return {
      means: col(3),
      logScales: tf.neg(col(3)),
      quaternions: tf.add(col(4), 1),
      opacityLogits: tf.mul(row, 2),
      sh: tf.reshape(tf.tile(tf.reshape(row, [n, 1]), [1, k * 3]), [n, k, 3]),
    };
  });
  return new Gaussians(fields);
}

describe('SH helpers', () => {
  it('maps colour to the DC coefficient and back (C0 = 1 / (2√π))', () => {
    expect(SH_C0).toBeCloseTo(1 / (2 * Math.sqrt(Math.PI)), 15);
    expect(rgbToDc(1)).toBeCloseTo(0.5 * 2 * Math.sqrt(Math.PI), 12);
    expect(dcToRgb(rgbToDc(0.3))).toBeCloseTo(0.3, 12);
    expect([1, 4, 9, 16, 2, 25, 0].map(shDegreeOf)).toEqual([0, 1, 2, 3, -1, -1, -1]);
  });
});

describeBackends('Gaussians', () => {
  it('reads N and the SH degree from the field shapes', () => {
    for (const [k, degree] of [
      [1, 0],
      [4, 1],
      [9, 2],
      [16, 3],
    ] as const) {
      const g = numbered(2, k);
      expect([g.count, g.shDegree]).toEqual([2, degree]);
      g.dispose();
    }
  });

  it('accepts N = 0', () => {
    const g = Gaussians.empty(1);
    expect([g.count, g.shDegree, ...g.sh.shape]).toEqual([0, 1, 0, 4, 3]);
    g.dispose();
  });

  it('accepts tf.Variables and frees them on dispose', () => {
    const g = numbered(2);
    const vars = Object.fromEntries(Object.entries(g.toTensors()).map(([k, t]) => [k, tf.variable(t)]));
    g.dispose();
    const before = tf.memory().numTensors;
    const v = Gaussians.fromTensors(vars);
    expect(v.count).toBe(2);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before - 5);
  });
});

describeBackends('Gaussians.fromPoints', () => {
  it('sets the DC coefficient to (c − 0.5)/C0, identity rotations, log scale and opacity logit', async () => {
    const g = Gaussians.fromPoints(
      [
        [0, 1, 2],
        [3, 4, 5],
      ],
      {
        colors: [
          [1, 0.5, 0],
          [0.25, 0.75, 0.5],
        ],
        scale: 0.2,
        opacity: 0.8,
      },
    );
    expect([g.count, g.shDegree]).toEqual([2, 0]);
    await expectAllClose(g.means, tf.tensor2d([0, 1, 2, 3, 4, 5], [2, 3]));
    await expectAllClose(g.sh, [1.7724538509055159, 0, -1.7724538509055159, -0.886226925, 0.886226925, 0], { atol: 1e-6 });
    await expectAllClose(g.logScales, new Array(6).fill(Math.log(0.2)));
    await expectAllClose(g.opacityLogits, [Math.log(4), Math.log(4)]);
    await expectAllClose(g.quaternions, [1, 0, 0, 0, 1, 0, 0, 0]);
    g.dispose();
  });

  it('defaults to grey, scale 0.01 and opacity 0.1, and pads higher SH bands with zeros', async () => {
    const points = tf.tensor2d([[1, 2, 3]]);
    const g = Gaussians.fromPoints(points, { shDegree: 2 });
    expect(g.sh.shape).toEqual([1, 9, 3]);
    await expectAllClose(g.sh, new Array(27).fill(0));
    await expectAllClose(g.logScales, new Array(3).fill(Math.log(0.01)));
    await expectAllClose(g.opacityLogits, [Math.log(0.1 / 0.9)]);
    // the points tensor is copied, not taken over
    g.dispose();
    expect(points.isDisposed).toBe(false);
    points.dispose();
  });

  it('leaks no tensors, even when it throws', async () => {
    await expectNoLeaks(() => Gaussians.fromPoints([[0, 1, 2]], { colors: [[1, 1, 1]] }).toTensors());
    await expectNoLeaks(() => {
      expect(() => Gaussians.fromPoints([[0, 1, 2]], { colors: [] })).toThrow(ShapeError);
      return undefined;
    });
  });
});

describeBackends('Gaussians.concat', () => {
  it('stacks the sets in order and pads the lower SH degree with zeros', async () => {
    const a = numbered(2, 1);
    const b = numbered(1, 4);
    const c = a.concat([b]);
    expect([c.count, c.shDegree]).toEqual([3, 1]);
    await expectAllClose(c.opacityLogits, [0, 2, 0]);
    const sh = await c.sh.data();
    expect(Array.from(sh.subarray(12, 24))).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(a.count).toBe(2);
    tf.dispose([a, b, c].flatMap((g) => Object.values(g.toTensors())));
  });

  it('concatenates with N = 0 and leaks no tensors', async () => {
    const a = numbered(2);
    const e = Gaussians.empty();
    await expectNoLeaks(() => {
      const c = a.concat(e);
      expect(c.count).toBe(2);
      return c.toTensors();
    });
    a.dispose();
    e.dispose();
  });
});

describeBackends('Gaussians.prune', () => {
  it('removes the Gaussians whose mask entry is true, keeping the order of the rest', async () => {
    const g = numbered(5);
    const mask = tf.tensor1d([true, false, true, false, false], 'bool');
    const kept = await g.prune(mask);
    await expectAllClose(kept.opacityLogits, [2, 6, 8]);
    await expectAllClose(kept.means, [1, 1, 1, 3, 3, 3, 4, 4, 4]);
    const fromArray = await g.prune([0, 0, 0, 0, 1]);
    expect(fromArray.count).toBe(4);
    const none = await g.prune(new Array(5).fill(true));
    expect(none.count).toBe(0);
    tf.dispose([mask]);
    for (const x of [g, kept, fromArray, none]) x.dispose();
  });

  it('leaks no tensors', async () => {
    const g = numbered(3);
    await expectNoLeaks(async () => (await g.prune([false, true, false])).toTensors());
    g.dispose();
  });
});

describeBackends('Gaussians.select', () => {
  it('gathers rows in the given order, repeats allowed', async () => {
    const g = numbered(4);
    const s = g.select([3, 0, 3]);
    await expectAllClose(s.opacityLogits, [6, 0, 6]);
    expect(() => g.select([4])).toThrow(/indices\[0\]: expected an integer ≥ 0 and ≤ 3, received 4/);
    g.dispose();
    s.dispose();
  });
});

describeBackends('Gaussians.clone', () => {
  it('copies every field into tensors that outlive the original', async () => {
    const g = numbered(2, 4);
    const c = g.clone();
    g.dispose();
    expect([c.count, c.shDegree]).toEqual([2, 1]);
    await expectAllClose(c.quaternions, [1, 1, 1, 1, 2, 2, 2, 2]);
    await expectNoLeaks(() => c.clone().toTensors());
    c.dispose();
  });
});

describeBackends('Gaussians.toTensors / Gaussians.fromTensors', () => {
  it('round-trips the fields by name without copying', () => {
    const g = numbered(2);
    const t = g.toTensors();
    expect(Object.keys(t)).toEqual(['means', 'logScales', 'quaternions', 'opacityLogits', 'sh']);
    const back = Gaussians.fromTensors(t);
    expect(back.means).toBe(g.means);
    g.dispose();
  });
});

describeBackends('Gaussians activations', () => {
  it('gives exp(logScales), sigmoid(opacityLogits) and unit quaternions', async () => {
    const g = new Gaussians({
      means: tf.zeros([1, 3]),
      logScales: tf.tensor2d([[0, Math.log(2), -1]]),
      quaternions: tf.tensor2d([[2, 0, 0, 2]]),
      opacityLogits: tf.tensor1d([0]),
      sh: tf.zeros([1, 1, 3]),
    });
    await expectAllClose(g.scales(), [1, 2, Math.exp(-1)]);
    await expectAllClose(g.opacities(), [0.5]);
    await expectAllClose(g.rotations(), [Math.SQRT1_2, 0, 0, Math.SQRT1_2]);
    await expectNoLeaks(() => [g.scales(), g.opacities(), g.rotations()]);
    g.dispose();
  });
});
