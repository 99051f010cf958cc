import { describe, expect, it } from 'vitest';
import { logSoftmax, philoxUniform, softmax, tf, ShapeError, DtypeError } from '../src/index.js';
import { logSoftmaxOp, softmaxOp } from '../src/softmax/index.js';
import { describeBackends, expectAllClose, expectNoLeaks } from '../src/testing/index.js';

/** Logits with a wide range, built from the seeded RNG so every backend sees the same numbers. */
function logits(rows: number, cols: number, seed: number, scale = 20): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.sub(philoxUniform([rows, cols], { seed }), 0.5), scale));
}

function bruteSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describeBackends('softmax', (backend) => {
  it("runs a Tessera kernel on cpu and webgpu, and tfjs' own SIMD kernel on wasm", () => {
    expect(softmaxOp.hasKernel()).toBe(backend !== 'wasm');
    expect(logSoftmaxOp.hasKernel()).toBe(backend !== 'wasm');
  });

  it('matches a hand-computed row', async () => {
    const x = tf.tensor2d([
      [1, 2, 3, 4],
      [0, 0, 0, 0],
    ]);
    await expectAllClose(softmax(x), [bruteSoftmax([1, 2, 3, 4]), [0.25, 0.25, 0.25, 0.25]], { atol: 1e-6 });
    await expectAllClose(logSoftmax(x), [bruteSoftmax([1, 2, 3, 4]).map(Math.log), Array(4).fill(Math.log(0.25))], {
      atol: 1e-5,
    });
    x.dispose();
  });

  // shapes cover one chunk, several chunks with a ragged tail, and many rows
  for (const [rows, cols] of [
    [3, 7],
    [2, 5000],
    [1, 20000],
    [33, 257],
  ] as const) {
    it(`matches tf.softmax and tf.logSoftmax on ${rows}×${cols}`, async () => {
      const x = logits(rows, cols, rows * 1000 + cols);
      await expectAllClose(softmax(x), softmaxOp.reference({ x }, { temperature: 1 }), { atol: 1e-6, rtol: 1e-4 });
      await expectAllClose(logSoftmax(x), logSoftmaxOp.reference({ x }, { temperature: 1 }), { atol: 1e-4, rtol: 1e-5 });
      await expectAllClose(softmax(x, { temperature: 0.7 }), softmaxOp.reference({ x }, { temperature: 0.7 }), { atol: 1e-6, rtol: 1e-4 });
      await expectAllClose(logSoftmax(x, { temperature: 2.5 }), logSoftmaxOp.reference({ x }, { temperature: 2.5 }), {
        atol: 1e-4,
        rtol: 1e-5,
      });
      x.dispose();
    });
  }

  it('is invariant to a constant shift and handles large logits', async () => {
    const x = logits(4, 3000, 7);
    const shifted = tf.add(x, 1e4);
    await expectAllClose(softmax(shifted), softmax(x), { atol: 1e-6, rtol: 1e-3 });
    tf.dispose([x, shifted]);
  });

  it('gives masked (−∞) entries probability 0 and a log-probability of −∞', async () => {
    const x = tf.tensor2d([[Number.NEGATIVE_INFINITY, 1, Number.NEGATIVE_INFINITY, 1]]);
    await expectAllClose(softmax(x), [[0, 0.5, 0, 0.5]], { atol: 1e-7 });
    const lp = await logSoftmax(x).data();
    expect(lp[0]).toBe(Number.NEGATIVE_INFINITY);
    expect(lp[1]).toBeCloseTo(Math.log(0.5), 5);
    x.dispose();
  });

  it('masks whole chunks (a chunk of only −∞ next to finite chunks)', async () => {
    const cols = 3000;
    const values = new Float32Array(cols).fill(Number.NEGATIVE_INFINITY);
    values[cols - 1] = 2;
    values[cols - 2] = 2;
    const x = tf.tensor2d(values, [1, cols]);
    const p = await softmax(x).data();
    expect(p[cols - 1]).toBeCloseTo(0.5, 6);
    expect(p[0]).toBe(0);
    x.dispose();
  });

  it('keeps the batch shape of [..., V] inputs', async () => {
    const x = logits(6, 9, 3).reshape([2, 3, 9]);
    const y = softmax(x);
    expect(y.shape).toEqual([2, 3, 9]);
    await expectAllClose(tf.sum(y, -1), tf.ones([2, 3]), { atol: 1e-6 });
    tf.dispose([x, y]);
  });

  it('differentiates like the tfjs composite', async () => {
    const x = logits(3, 50, 11, 4);
    const w = logits(3, 50, 12, 1);
    const f = (op: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(op(t), w));
    await expectAllClose(tf.grad(f((t) => softmax(t)))(x), tf.grad(f((t) => tf.softmax(t)))(x), { atol: 1e-6 });
    await expectAllClose(tf.grad(f((t) => logSoftmax(t)))(x), tf.grad(f((t) => tf.logSoftmax(t)))(x), { atol: 1e-5 });
    const hot = (t: tf.Tensor) => tf.sum(tf.mul(softmax(t, { temperature: 0.5 }), w));
    await expectAllClose(tf.grad(hot)(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(tf.div(t, 0.5)), w)))(x), { atol: 1e-5 });
    tf.dispose([x, w]);
  });

  it('leaks no tensors, forward or backward', async () => {
    const x = logits(2, 3000, 5);
    await expectNoLeaks(() => softmax(x));
    await expectNoLeaks(() => tf.tidy(() => logSoftmax(x.reshape([1, 2, 3000]))));
    await expectNoLeaks(() => tf.grad((t: tf.Tensor) => tf.sum(softmax(t)))(x));
    x.dispose();
  });

  if (backend === 'cpu') {
    it('rejects bad input with the argument named', () => {
      expect(() => softmax(tf.tensor1d([1, 2], 'int32'))).toThrow(DtypeError);
      expect(() => softmax(tf.tensor1d([1, 2], 'int32'))).toThrow(/logits: expected dtype float32, received int32/);
      expect(() => softmax(tf.scalar(1))).toThrow(ShapeError);
      expect(() => softmax(tf.zeros([2, 0]))).toThrow(/logits: expected a non-empty tensor/);
      expect(() => softmax(tf.zeros([2, 3]), { temperature: 0 })).toThrow('temperature: expected a finite number > 0, received 0');
    });
  }
});

describe('softmax fallback', () => {
  it('runs the reference on a backend without a Tessera kernel', () => {
    expect(softmaxOp.hasKernel('webgl')).toBe(false);
  });
});
