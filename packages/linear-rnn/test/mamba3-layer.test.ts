import { Module, philoxUniform, ShapeError, type Tensor, tf, ValueError, type Variable } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { Linear, RMSNorm } from '../src/layers/blocks.js';
import { Mamba3 } from '../src/layers/mamba3.js';
import type { Mamba3State } from '../src/mamba3/index.js';

function input(shape: number[], seed: number): Tensor {
  return tf.tidy(() => tf.sub(philoxUniform(shape, { seed }), 0.5));
}

function disposeState(s: Mamba3State): void {
  tf.dispose([s.ssm, s.k, s.v, s.angle]);
}

describe('Mamba3 (construction)', () => {
  it('names and shapes its parameters as mamba_ssm and initialises them as mamba3.py', async () => {
    const layer = new Mamba3({ dModel: 16, dState: 8, headDim: 8, rank: 2, seed: 3 });
    const shapes = Object.fromEntries(layer.namedParameters().map(([name, v]) => [name, v.shape]));
    // d_inner 32, H 4, N 8, R 2, Nr = 8·0.5/2 = 2: in_proj width 2·32 + 2·8·2 + 3·4 + 2 = 110
    expect(shapes).toEqual({
      'in_proj.weight': [110, 16],
      dt_bias: [4],
      B_bias: [4, 2, 8],
      C_bias: [4, 2, 8],
      'B_norm.weight': [8],
      'C_norm.weight': [8],
      mimo_x: [4, 2, 8],
      mimo_z: [4, 2, 8],
      mimo_o: [4, 2, 8],
      D: [4],
      'out_proj.weight': [16, 32],
    });
    const dt = await tf.softplus(layer.dtBias).data();
    for (const v of dt) {
      expect(v).toBeGreaterThanOrEqual(1e-3 * (1 - 1e-5));
      expect(v).toBeLessThanOrEqual(1e-1 * (1 + 1e-5));
    }
    await expectAllClose(layer.D, [1, 1, 1, 1]);
    await expectAllClose(layer.bBias, tf.ones([4, 2, 8]));
    await expectAllClose(layer.mimoX as Variable, tf.fill([4, 2, 8], 0.5));
    layer.dispose();
  });

  it('rejects a head dim that does not divide d_inner, a bad rope fraction and a bad input width', () => {
    expect(() => new Mamba3({ dModel: 16, headDim: 6 })).toThrow(ValueError);
    expect(() => new Mamba3({ dModel: 16, headDim: 6 })).toThrow(
      /config.headDim: expected a divisor of d_inner = expand·dModel = 32, received 6/,
    );
    expect(() => new Mamba3({ ropeFraction: 0.25 as 0.5 })).toThrow(/config.ropeFraction/);
    expect(() => new Mamba3({ rank: 0 })).toThrow(/config.rank/);
    const layer = new Mamba3({ dModel: 8, dState: 4, headDim: 4 });
    const x = tf.zeros([1, 3, 7]);
    expect(() => layer.forward(x)).toThrow(ShapeError);
    expect(() => layer.forward(x)).toThrow(/x: expected dimension 2 to be 8/);
    expect(() => layer.step(tf.zeros([1, 3, 8]))).toThrow(/xt: expected rank 2/);
    const state = layer.initialState(2);
    expect(() => layer.forward(tf.zeros([1, 3, 8]), state)).toThrow(/initialState.ssm: expected dimension 0 to be 1/);
    disposeState(state);
    x.dispose();
    layer.dispose();
  });
});

describeBackends('Mamba3', () => {
  for (const rank of [1, 2]) {
    it(`step over a sequence reproduces forward (rank ${rank})`, async () => {
      const layer = new Mamba3({ dModel: 8, dState: 8, headDim: 4, rank, chunkSize: 4, seed: rank });
      const x = tf.mul(input([2, 6, 8], 10 + rank), 4);
      const full = layer.forward(x);
      expect(full.y.shape).toEqual([2, 6, 8]);
      let state = layer.initialState(2);
      const ys: Tensor[] = [];
      for (let t = 0; t < 6; t++) {
        const xt = tf.squeeze(tf.slice(x, [0, t, 0], [-1, 1, -1]), [1]);
        const out = layer.step(xt, state);
        disposeState(state);
        state = out.state;
        ys.push(out.y);
        xt.dispose();
      }
      await expectAllClose(tf.stack(ys, 1), full.y, { atol: 1e-5, rtol: 1e-4 });
      await expectAllClose(state.ssm, full.state.ssm, { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([x, full.y, ...ys]);
      disposeState(state);
      disposeState(full.state);
      layer.dispose();
    });
  }

  it('carries the state across calls: two halves equal one forward', async () => {
    const layer = new Mamba3({ dModel: 8, dState: 4, headDim: 4, chunkSize: 2, seed: 5 });
    const x = tf.mul(input([1, 7, 8], 20), 4);
    const full = layer.forward(x);
    const a = layer.forward(tf.slice(x, [0, 0, 0], [-1, 3, -1]));
    const b = layer.forward(tf.slice(x, [0, 3, 0], [-1, 4, -1]), a.state);
    await expectAllClose(tf.concat([a.y, b.y], 1), full.y, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, full.y, a.y, b.y]);
    for (const s of [full.state, a.state, b.state]) disposeState(s);
    layer.dispose();
  });

  it('leaks no tensors (forward, step, gradient)', async () => {
    const layer = new Mamba3({ dModel: 8, dState: 4, headDim: 4, rank: 2 });
    const x = input([1, 3, 8], 30);
    await expectNoLeaks(() => {
      const r = layer.forward(x);
      return [r.y, r.state.ssm, r.state.k, r.state.v, r.state.angle];
    });
    const xt = input([1, 8], 31);
    await expectNoLeaks(() => {
      const r = layer.step(xt);
      return [r.y, r.state.ssm, r.state.k, r.state.v, r.state.angle];
    });
    await expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(layer.forward(x).y) as tf.Scalar, layer.parameters());
      return [value, ...Object.values(grads)];
    });
    tf.dispose([x, xt]);
    layer.dispose();
  });
});

/** Embedding → two pre-norm residual Mamba-3 blocks → RMSNorm → vocabulary head. */
class TinyMamba3LM extends Module {
  readonly embed: Variable;
  readonly norms: RMSNorm[];
  readonly mixers: Mamba3[];
  readonly finalNorm: RMSNorm;
  readonly head: Linear;

  constructor(vocab: number, dModel: number) {
    super();
    this.embed = this.param('embed', tf.mul(philoxUniform([vocab, dModel], { seed: 40 }), 2));
    this.norms = [0, 1].map((i) => this.child(`norm${i}`, new RMSNorm(dModel)));
    this.mixers = [0, 1].map((i) => this.child(`mixer${i}`, new Mamba3({ dModel, dState: 8, headDim: 8, chunkSize: 16, seed: 50 + i })));
    this.finalNorm = this.child('final_norm', new RMSNorm(dModel));
    this.head = this.child('head', new Linear(dModel, vocab, { seed: 60 }));
  }

  logits(tokens: Tensor): Tensor {
    return tf.tidy(() => {
      // one-hot × table rather than gather: gather's gradient (UnsortedSegmentSum) has no WASM kernel
      const [vocab, width] = this.embed.shape as [number, number];
      let h = tf.reshape(tf.matMul(tf.oneHot(tf.reshape(tokens, [-1]), vocab), this.embed), [...tokens.shape, width]);
      for (let i = 0; i < 2; i++) {
        const out = (this.mixers[i] as Mamba3).forward((this.norms[i] as RMSNorm).forward(h));
        h = tf.add(h, out.y);
      }
      return this.head.forward(this.finalNorm.forward(h));
    });
  }
}

// WASM only: the same tfjs ops run about six times slower on the pure-JS cpu backend (its strided slices)
describeBackends(
  'Mamba3 training',
  () => {
    it('a 2-layer model learns to copy the token from two steps back', async () => {
      // Targets are y_t = x_{t−2} over a uniform vocabulary of 8: a model that does not carry the token two steps
      // through its state cannot beat the uniform loss ln 8 ≈ 2.08. Below 0.3 it recalls the right token with
      // probability ≈ e^{−0.3} ≈ 0.74 on average, which only memory through the recurrence allows.
      const vocab = 8;
      const batch = 16;
      const length = 12;
      const lag = 2;
      const model = new TinyMamba3LM(vocab, 32);
      const optimizer = tf.train.adam(0.02);
      const loss = (seed: number) => {
        const tokens = tf.tidy(() => tf.cast(tf.floor(tf.mul(philoxUniform([batch, length], { seed }), vocab)), 'int32'));
        const value = tf.tidy(() => {
          const logits = tf.slice(model.logits(tokens), [0, lag, 0], [-1, -1, -1]);
          const targets = tf.oneHot(tf.slice(tokens, [0, 0], [-1, length - lag]), vocab);
          return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
        });
        tokens.dispose();
        return value;
      };
      let last = Number.POSITIVE_INFINITY;
      for (let step = 0; step < 150; step++) {
        const value = optimizer.minimize(() => loss(1000 + step), true, model.parameters()) as tf.Scalar;
        last = (await value.data())[0] as number;
        value.dispose();
        if (step >= 20 && last < 0.1) break;
      }
      const held = loss(999_999);
      const heldOut = (await held.data())[0] as number;
      held.dispose();
      expect(heldOut).toBeLessThan(0.3);
      optimizer.dispose();
      model.dispose();
    }, 60_000);
  },
  { backends: ['wasm'] },
);
