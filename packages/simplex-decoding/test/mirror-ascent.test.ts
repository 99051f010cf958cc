import { softmax, type Tensor, tf, AbortError } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { mirrorAscent } from '../src/index.js';
import { randomLogits } from './cases.js';

/** Seeded scores in [−3, 3). */
function randomScores(rows: number, cols: number, seed: number): Tensor {
  return randomLogits(rows, cols, seed, 3);
}

/** ∇ of the entropy-regularised score ⟨q, s⟩ + τH(q), whose maximiser is softmax(s/τ). */
function entropyGrad(s: Tensor, tau: number): (q: Tensor) => Tensor {
  return (q) => tf.sub(s, tf.mul(tf.add(tf.log(q), 1), tau));
}

describeBackends('mirrorAscent', () => {
  it('converges to the closed-form optimum softmax(s/τ) of the entropy-regularised score', async () => {
    const s = randomScores(3, 40, 1);
    const tau = 0.8;
    const q0 = tf.fill([3, 40], 1 / 40);
    // the contraction of log q towards s/τ is (1 − ητ) per step: 0.5^40 ≈ 1e-12
    const { q, steps } = await mirrorAscent(entropyGrad(s, tau), q0, { eta: 0.5 / tau, steps: 40 });
    expect(steps).toBe(40);
    await expectAllClose(q, softmax(tf.div(s, tau)), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([s, q0, q]);
  });

  it('keeps zero entries of q0 exactly zero even when the gradient is infinite there', async () => {
    const q0 = tf.tensor2d([[0.5, 0, 0.25, 0.25, 0]]);
    const s = tf.tensor2d([[0, 100, 1, 2, 100]]);
    const { q } = await mirrorAscent(entropyGrad(s, 1), q0, { eta: 0.3, steps: 6 });
    const values = Array.from(await q.data());
    expect(values[1]).toBe(0);
    expect(values[4]).toBe(0);
    expect(values.every(Number.isFinite)).toBe(true);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    tf.dispose([q0, s, q]);
  });

  it('returns the renormalised start for zero steps and accepts a [V] row', async () => {
    const q0 = tf.tensor1d([2, 1, 1]);
    const { q, steps } = await mirrorAscent((x) => tf.zerosLike(x), q0, { eta: 1, steps: 0 });
    expect(steps).toBe(0);
    expect(q.shape).toEqual([3]);
    await expectAllClose(q, [0.5, 0.25, 0.25], { atol: 1e-6 });
    tf.dispose([q0, q]);
  });

  it('stops once the largest change falls below tol and reports each step', async () => {
    const s = randomScores(2, 30, 2);
    const q0 = tf.fill([2, 30], 1 / 30);
    const { q, steps, history } = await mirrorAscent(entropyGrad(s, 1), q0, { eta: 0.5, steps: 200, tol: 1e-4 });
    expect(steps).toBeLessThan(200);
    expect(history).toHaveLength(steps);
    expect(history?.[steps - 1]).toBeLessThan(1e-4);
    expect(history?.[steps - 2]).toBeGreaterThanOrEqual(1e-4);
    tf.dispose([s, q0, q]);
  });

  it('stops between steps with an AbortError when its signal fires, freeing every iterate', async () => {
    const s = randomScores(2, 20, 4);
    const q0 = tf.fill([2, 20], 1 / 20);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let calls = 0;
    const grad = (q: Tensor) => {
      calls++;
      if (calls === 3) controller.abort('enough');
      return entropyGrad(s, 1)(q);
    };
    await expect(mirrorAscent(grad, q0, { eta: 0.5, steps: 100, signal: controller.signal })).rejects.toThrow(AbortError);
    expect(calls).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    await expect(mirrorAscent(grad, q0, { eta: 0.5, steps: 1, signal: controller.signal })).rejects.toThrow(
      'signal: expected not aborted, received an abort before step 0',
    );
    tf.dispose([s, q0]);
  });

  it('leaks no tensors across iterations', async () => {
    const s = randomScores(2, 20, 3);
    const q0 = tf.fill([2, 20], 1 / 20);
    await expectNoLeaks(async () => (await mirrorAscent(entropyGrad(s, 1), q0, { eta: 0.5, steps: 5 })).q);
    await expectNoLeaks(async () => (await mirrorAscent(entropyGrad(s, 1), q0, { eta: 0.5, steps: 50, tol: 1e-3 })).q);
    tf.dispose([s, q0]);
  });
});
