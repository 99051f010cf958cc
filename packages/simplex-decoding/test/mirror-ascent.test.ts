import { philoxUniform, ShapeError, softmax, tf, ValueError, DtypeError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { mirrorAscent } from '../src/mirror-ascent/index.js';

function randomScores(rows: number, cols: number, seed: number, scale = 6): Tensor {
  return tf.tidy(() => tf.mul(tf.sub(philoxUniform([rows, cols], { seed }), 0.5), scale));
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
    const { q, steps } = await mirrorAscent({ grad: entropyGrad(s, tau), q0, eta: 0.5 / tau, steps: 40 });
    expect(steps).toBe(40);
    await expectAllClose(q, softmax(tf.div(s, tau)), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([s, q0, q]);
  });

  it('keeps zero entries of q0 exactly zero even when the gradient is infinite there', async () => {
    const q0 = tf.tensor2d([[0.5, 0, 0.25, 0.25, 0]]);
    const s = tf.tensor2d([[0, 100, 1, 2, 100]]);
    const { q } = await mirrorAscent({ grad: entropyGrad(s, 1), q0, eta: 0.3, steps: 6 });
    const values = Array.from(await q.data());
    expect(values[1]).toBe(0);
    expect(values[4]).toBe(0);
    expect(values.every(Number.isFinite)).toBe(true);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    tf.dispose([q0, s, q]);
  });

  it('returns the renormalised start for zero steps and accepts a [V] row', async () => {
    const q0 = tf.tensor1d([2, 1, 1]);
    const { q, steps } = await mirrorAscent({ grad: (x) => tf.zerosLike(x), q0, eta: 1, steps: 0 });
    expect(steps).toBe(0);
    expect(q.shape).toEqual([3]);
    await expectAllClose(q, [0.5, 0.25, 0.25], { atol: 1e-6 });
    tf.dispose([q0, q]);
  });

  it('stops once the largest change falls below tol and reports each step', async () => {
    const s = randomScores(2, 30, 2);
    const q0 = tf.fill([2, 30], 1 / 30);
    const { q, steps, history } = await mirrorAscent({ grad: entropyGrad(s, 1), q0, eta: 0.5, steps: 200, tol: 1e-4 });
    expect(steps).toBeLessThan(200);
    expect(history).toHaveLength(steps);
    expect(history?.[steps - 1]).toBeLessThan(1e-4);
    expect(history?.[steps - 2]).toBeGreaterThanOrEqual(1e-4);
    tf.dispose([s, q0, q]);
  });

  it('leaks no tensors across iterations', async () => {
    const s = randomScores(2, 20, 3);
    const q0 = tf.fill([2, 20], 1 / 20);
    await expectNoLeaks(async () => (await mirrorAscent({ grad: entropyGrad(s, 1), q0, eta: 0.5, steps: 5 })).q);
    await expectNoLeaks(async () => (await mirrorAscent({ grad: entropyGrad(s, 1), q0, eta: 0.5, steps: 50, tol: 1e-3 })).q);
    tf.dispose([s, q0]);
  });
});

describe('mirrorAscent bad input', () => {
  const q0 = tf.tensor2d([[0.5, 0.5]]);
  const grad = (q: Tensor) => tf.zerosLike(q);

  it('rejects step sizes, step counts and tolerances out of range', async () => {
    await expect(mirrorAscent({ grad, q0, eta: 0, steps: 1 })).rejects.toThrow(ValueError);
    await expect(mirrorAscent({ grad, q0, eta: 0, steps: 1 })).rejects.toThrow(/eta: expected a finite number > 0, received 0/);
    await expect(mirrorAscent({ grad, q0, eta: 1, steps: 1.5 })).rejects.toThrow(/steps: expected an integer ≥ 0, received 1.5/);
    await expect(mirrorAscent({ grad, q0, eta: 1, steps: -1 })).rejects.toThrow(/steps: expected an integer ≥ 0, received -1/);
    await expect(mirrorAscent({ grad, q0, eta: 1, steps: 1, tol: 0 })).rejects.toThrow(/tol: expected a finite number > 0, received 0/);
  });

  it('rejects a q0 of the wrong rank, dtype or values', async () => {
    await expect(mirrorAscent({ grad, q0: tf.zeros([1, 1, 2]), eta: 1, steps: 1 })).rejects.toThrow(ShapeError);
    await expect(mirrorAscent({ grad, q0: tf.tensor1d([1, 0], 'int32'), eta: 1, steps: 1 })).rejects.toThrow(DtypeError);
    await expect(mirrorAscent({ grad, q0: tf.tensor1d([1.5, -0.5]), eta: 1, steps: 1 })).rejects.toThrow(
      /q0: expected nonnegative values, received a minimum of -0.5/,
    );
    await expect(mirrorAscent({ grad, q0: tf.tensor2d([[0, 0]]), eta: 1, steps: 1 })).rejects.toThrow(
      /q0: expected every row to have a positive/,
    );
    await expect(mirrorAscent({ grad, q0: tf.tensor1d([Number.NaN, 1]), eta: 1, steps: 1 })).rejects.toThrow(
      /q0: expected nonnegative finite values/,
    );
  });

  it('rejects a grad that is not a function or returns the wrong shape, without leaking', async () => {
    await expect(mirrorAscent({ grad: 3 as unknown as typeof grad, q0, eta: 1, steps: 1 })).rejects.toThrow(/grad: expected a function/);
    const before = tf.memory().numTensors;
    await expect(mirrorAscent({ grad: () => tf.zeros([3]), q0, eta: 1, steps: 2 })).rejects.toThrow(
      /grad: expected a tensor of shape \[1, 2\] at step 0, received Tensor<float32>\[3\]/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
