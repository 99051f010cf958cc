import { philoxNormal, philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { FieldAdam, gatherRows } from '../src/fit/adam.js';
import { adamUpdateOp } from '../src/fit/fused-adam/op.js';
import { adamUpdateReference } from '../src/fit/fused-adam/reference.js';

/**
 * The oracle: tfjs' own optimiser with 3DGS' settings, its rate changed between steps and its moments moved
 * onto densified rows through getWeights / setWeights — what FieldAdam was before it was fused.
 */
class TfjsFieldAdam extends tf.AdamOptimizer {
  constructor(lr: number) {
    super(lr, 0.9, 0.999, 1e-15);
  }

  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }

  async remapRows(rows: Int32Array): Promise<void> {
    const [iter, ...moments] = await this.getWeights();
    const remapped = moments.map(({ name, tensor }) => ({ name, tensor: gatherRows(tensor, rows) }));
    const old = moments.map(({ tensor }) => tensor);
    await this.setWeights([iter!, ...remapped]);
    tf.dispose([...old, ...remapped.map(({ tensor }) => tensor), iter!.tensor]);
  }

  async moments(): Promise<[Tensor, Tensor]> {
    const [, m, v] = await this.getWeights();
    return [m!.tensor, v!.tensor];
  }
}

/** A gradient with a wide spread of magnitudes, exact zeros included (a Gaussian no pixel saw). */
function gradient(shape: number[], seed: number): Tensor {
  return tf.tidy(() => {
    const g = tf.mul(philoxNormal(shape, { seed }), tf.exp(tf.mul(philoxUniform(shape, { seed: seed + 1 }), 8)));
    return tf.mul(g, tf.cast(tf.greater(philoxUniform(shape, { seed: seed + 2 }), 0.2), 'float32'));
  });
}

describeBackends('FieldAdam (fused Adam step)', (backend) => {
  // cpu rounds every operation to float32 exactly as tfjs' cpu backend does; WGSL's ÷ and √ may differ by ulps
  const tol = backend === 'cpu' ? { atol: 0, rtol: 0 } : { atol: 1e-6, rtol: 1e-5 };

  it('matches tf.train.adam over several steps with a changing rate, and after remapRows', async () => {
    const init = philoxNormal([5, 3], { seed: 3 });
    const ours = tf.variable(init);
    const theirs = tf.variable(init);
    const a = new FieldAdam(1e-2);
    const b = new TfjsFieldAdam(1e-2);
    const rates = [1e-2, 5e-3, 5e-3, 2e-2, 1e-3, 1e-3, 4e-3];
    for (let step = 0; step < rates.length; step++) {
      if (step === 3) {
        // densify: keep rows 4, 0, 2, add two new ones
        const rows = Int32Array.from([4, 0, -1, 2, -1]);
        a.remapRows(rows);
        await b.remapRows(rows);
        for (const v of [ours, theirs]) {
          const moved = gatherRows(v, rows);
          v.assign(moved);
          moved.dispose();
        }
      }
      a.setLearningRate(rates[step]!);
      b.setLearningRate(rates[step]!);
      const g = gradient([5, 3], 10 * step);
      a.applyGradient(ours, g);
      b.applyGradients([{ name: theirs.name, tensor: g }]);
      g.dispose();
      await expectAllClose(ours, theirs, tol);
      const { m, v } = a.moments()!;
      const [m2, v2] = await b.moments();
      await expectAllClose(m, m2, tol);
      await expectAllClose(v, v2, tol);
      tf.dispose([m, v]);
    }
    expect(a.iterations).toBe(rates.length);
    a.dispose();
    b.dispose();
    tf.dispose([init, ours, theirs]);
  });

  it('updates a variable of any rank in place, leaking nothing', async () => {
    // the initial value freed first: the variable shares its buffer until the first assign, which would leave the
    // buffer to the initial tensor and count as one more inside expectNoLeaks
    const init = philoxNormal([4, 2, 3], { seed: 8 });
    const v = tf.variable(init);
    init.dispose();
    const g = gradient([4, 2, 3], 20);
    await expectNoLeaks(() => {
      const opt = new FieldAdam(0.1);
      expect(opt.moments()).toBeUndefined();
      opt.remapRows(Int32Array.from([0, 1, -1]));
      opt.applyGradient(v, g);
      opt.applyGradient(v, g);
      opt.remapRows(Int32Array.from([3, 2, 1, 0, -1]));
      opt.dispose();
    });
    expect(v.shape).toEqual([4, 2, 3]);
    tf.dispose([v, g]);
  });
});

describeBackends('adamUpdateOp', () => {
  it('agrees with its tfjs reference on every element, including zero gradients and moments', async () => {
    const param = philoxNormal([33, 3], { seed: 1 });
    const grad = gradient([33, 3], 2);
    const moments = tf.tidy(() => tf.stack([tf.mul(gradient([33, 3], 5), 0.1), tf.mul(tf.square(gradient([33, 3], 5)), 1e-3)], -1));
    const attrs = {
      lr: 3e-3,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-15,
      correction1: Math.fround(1 - 0.9 ** 3),
      correction2: Math.fround(1 - 0.999 ** 3),
    };
    const ours = adamUpdateOp({ param, grad, moments }, attrs) as Tensor[];
    const ref = adamUpdateReference({ param, grad, moments }, attrs);
    expect(ours.map((t) => t.shape)).toEqual([
      [33, 3],
      [33, 3, 2],
    ]);
    await expectAllClose(ours[0]!, ref[0], { atol: 1e-6, rtol: 1e-5 });
    await expectAllClose(ours[1]!, ref[1], { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([param, grad, moments, ...ours, ...ref]);
  });
});
