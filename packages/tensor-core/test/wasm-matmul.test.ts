import { expect, it } from 'vitest';
import { philoxUniform, tf } from '../src/index.js';
import { MIN_REUSE } from '../src/backend/wasm-matmul.js';
import { describeBackends, expectAllClose, expectNoLeaks } from '../src/testing/index.js';

/** Every transpose combination, batched and broadcast, on both sides of MIN_REUSE. */
const CASES: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [];
for (const [m, n] of [
  [MIN_REUSE + 5, MIN_REUSE + 3],
  [3, MIN_REUSE + 1],
  [MIN_REUSE, 2],
  [1, 1],
] as [number, number][]) {
  const k = 7;
  for (const ta of [false, true])
    for (const tb of [false, true]) {
      CASES.push({ a: [2, ...(ta ? [k, m] : [m, k])], b: [2, ...(tb ? [n, k] : [k, n])], ta, tb });
      CASES.push({ a: [3, 2, ...(ta ? [k, m] : [m, k])], b: tb ? [n, k] : [k, n], ta, tb });
    }
}

describeBackends(
  'BatchMatMul on wasm (transposed operands transposed first where it pays)',
  () => {
    it('is the kernel tfjs runs on wasm', () => {
      const config = tf.getKernel('BatchMatMul', 'wasm') as unknown as Record<symbol, unknown>;
      expect(config[Symbol.for('tessera.wasmMatMul')]).toBe(true);
    });

    it('equals the product on the cpu backend for every transpose combination and shape', async () => {
      for (const [i, c] of CASES.entries()) {
        const a = philoxUniform(c.a as [number, number, number], { seed: 2 * i, low: -1, high: 1 });
        const b = philoxUniform(c.b as [number, number], { seed: 2 * i + 1, low: -1, high: 1 });
        const got = tf.matMul(a, b, c.ta, c.tb);
        const [av, bv] = [await a.array(), await b.array()];
        await tf.setBackend('cpu');
        const want = tf.tidy(() => tf.matMul(tf.tensor(av as number[][]), tf.tensor(bv as number[][]), c.ta, c.tb));
        const expected = await want.array();
        want.dispose();
        await tf.setBackend('wasm');
        await expectAllClose(got, expected as number[][], { atol: 1e-5, rtol: 1e-5 });
        tf.dispose([a, b, got]);
      }
    });

    it('gradients match the cpu backend and no tensor is left behind', async () => {
      const a = philoxUniform([MIN_REUSE + 2, 5], { seed: 9, low: -1, high: 1 });
      const b = philoxUniform([MIN_REUSE + 4, 5], { seed: 10, low: -1, high: 1 });
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, false, true)));
      const [ga, gb] = tf.grads(f)([a, b]) as [tf.Tensor, tf.Tensor];
      const [av, bv] = [await a.array(), await b.array()];
      await tf.setBackend('cpu');
      const [ca, cb] = tf.grads(f)([tf.tensor(av as number[][]), tf.tensor(bv as number[][])]);
      const expected = [await (ca as tf.Tensor).array(), await (cb as tf.Tensor).array()];
      tf.dispose([ca as tf.Tensor, cb as tf.Tensor]);
      await tf.setBackend('wasm');
      await expectAllClose(ga, expected[0] as number[][], { atol: 1e-4, rtol: 1e-5 });
      await expectAllClose(gb, expected[1] as number[][], { atol: 1e-4, rtol: 1e-5 });
      const c = philoxUniform([MIN_REUSE + 2, MIN_REUSE + 8], { seed: 11 });
      await expectNoLeaks(() => {
        tf.matMul(a, b, false, true).dispose();
        tf.matMul(a, c, true, false).dispose();
      });
      tf.dispose([a, b, c, ga, gb]);
      expect(tf.getBackend()).toBe('wasm');
    });
  },
  { backends: ['wasm'] },
);
