import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { it } from 'vitest';
import { ShortConvolution } from '../src/layers/blocks.js';

function uniform(shape: number[], seed: number): Tensor {
  return philoxUniform(shape, { seed, low: -1, high: 1 });
}

const silu = (x: number) => x / (1 + Math.exp(-x));

describeBackends('ShortConvolution', () => {
  it('is a causal depthwise conv then SiLU, by hand', async () => {
    const conv = new ShortConvolution(1, { kernelSize: 3 });
    conv.loadStateDict({ weight: tf.tensor3d([0.5, -1, 2], [1, 1, 3]) });
    const x = tf.tensor3d([1, 2, 3, 4], [1, 4, 1]);
    // y_t = 0.5 x_{t−2} − x_{t−1} + 2 x_t
    const pre = [2, 4 - 1, 6 - 2 + 0.5, 8 - 3 + 1];
    const { output, finalState } = conv.forward(x);
    await expectAllClose(output, pre.map(silu), { atol: 1e-6 });
    await expectAllClose(finalState, [3, 4]);
    tf.dispose([x, output, finalState]);
    conv.dispose();
  });

  it('carries its state: two calls, or token steps, equal one call', async () => {
    const conv = new ShortConvolution(5, { seed: 3 });
    const x = uniform([2, 7, 5], 8);
    const whole = conv.forward(x);
    const first = conv.forward(tf.slice(x, [0, 0, 0], [2, 3, 5]));
    const second = conv.forward(tf.slice(x, [0, 3, 0], [2, 4, 5]), { initialState: first.finalState });
    await expectAllClose(tf.concat([first.output, second.output], 1), whole.output, { atol: 1e-6 });
    await expectAllClose(second.finalState, whole.finalState);
    let state = conv.zeroState(2);
    const ys: Tensor[] = [];
    for (let t = 0; t < 7; t++) {
      const xt = tf.squeeze(tf.slice(x, [0, t, 0], [2, 1, 5]), [1]);
      const r = t === 0 ? conv.step(xt) : conv.step(xt, { initialState: state });
      ys.push(r.output);
      state = r.finalState;
    }
    await expectAllClose(tf.stack(ys, 1), whole.output, { atol: 1e-6 });
    const xt = tf.zeros([2, 5]);
    await expectNoLeaks(() => conv.forward(x, { initialState: state }));
    await expectNoLeaks(() => conv.step(xt, { initialState: state }));
    await expectNoLeaks(() => conv.step(xt));
    tf.dispose([x, whole, first, second, ys, state, xt]);
    conv.dispose();
  });
});
