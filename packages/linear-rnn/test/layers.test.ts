import { Module, philoxUniform, philoxUniformArray, type Tensor, tf, type Variable } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Linear, RMSNorm } from '@tessera/tensor-core';
import { DeltaNet, type DeltaLayerOptions, type DeltaRuleLayer } from '../src/layers/delta-net.js';
import { EFLA } from '../src/layers/efla.js';
import { GatedDeltaNet } from '../src/layers/gated-delta-net.js';
import { warmThenRun } from './cases.js';

type LayerClass = new (opts?: DeltaLayerOptions) => DeltaRuleLayer;
const KINDS: [string, LayerClass][] = [
  ['DeltaNet', DeltaNet],
  ['GatedDeltaNet', GatedDeltaNet],
  ['EFLA', EFLA],
];

function uniform(shape: number[], seed: number): Tensor {
  return philoxUniform(shape, { seed, low: -1, high: 1 });
}

/** Pre-norm residual model for the training test: embedding → x + layer(RMSNorm(x)) → RMSNorm → head. */
class TinyModel extends Module {
  readonly embedding: Variable;
  readonly mixerNorm: RMSNorm;
  readonly mixer: DeltaRuleLayer;
  readonly norm: RMSNorm;
  readonly head: Linear;

  constructor(Layer: LayerClass, vocab: number, opts: DeltaLayerOptions) {
    super();
    const d = opts.dModel as number;
    this.embedding = this.param('embedding', uniform([vocab, d], 1000));
    this.mixerNorm = this.child('mixer_norm', new RMSNorm(d));
    this.mixer = this.child('mixer', new Layer(opts));
    this.norm = this.child('norm', new RMSNorm(d));
    this.head = this.child('head', new Linear(d, vocab, { seed: 99 }));
  }

  /** tokens `[B, L]` → logits of the last position `[B, V]`. */
  lastLogits(tokens: Tensor): Tensor {
    return tf.tidy(() => {
      // a one-hot matmul, not tf.gather: gather's gradient (UnsortedSegmentSum) has no wasm kernel
      const [b0, l0] = tokens.shape as [number, number];
      const vocab = this.embedding.shape[0] as number;
      let x = tf.reshape(tf.matMul(tf.oneHot(tf.reshape(tokens, [-1]), vocab), this.embedding), [b0, l0, -1]);
      x = tf.add(x, this.mixer.forward(this.mixerNorm.forward(x)).output);
      const [b, l, d] = x.shape as [number, number, number];
      return this.head.forward(this.norm.forward(tf.reshape(tf.slice(x, [0, l - 1, 0], [b, 1, d]), [b, d])));
    });
  }
}

/**
 * Associative recall: `pairs` (key, value) tokens, then one of the keys again; the target is its value.
 * Keys are tokens [0, keys), values [keys, keys + values); keys within a sequence are distinct.
 */
function recallBatch(batch: number, pairs: number, keys: number, values: number, seed: number): { tokens: Tensor; target: Tensor } {
  const u = philoxUniformArray(batch * (keys + pairs + 1), seed, 0);
  const tokens: number[] = [];
  const target: number[] = [];
  let p = 0;
  for (let b = 0; b < batch; b++) {
    const order = Array.from({ length: keys }, (_, i) => i);
    for (let i = keys - 1; i > 0; i--) {
      const j = Math.floor((u[p++] as number) * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const vals = Array.from({ length: pairs }, () => keys + Math.floor((u[p++] as number) * values));
    for (let i = 0; i < pairs; i++) tokens.push(order[i] as number, vals[i] as number);
    const ask = Math.floor((u[p++] as number) * pairs);
    tokens.push(order[ask] as number);
    target.push(vals[ask] as number);
  }
  return { tokens: tf.tensor2d(tokens, [batch, 2 * pairs + 1], 'int32'), target: tf.oneHot(tf.tensor1d(target, 'int32'), keys + values) };
}

describeBackends('delta-rule layers', () => {
  for (const [name, Layer] of KINDS) {
    describe(name, () => {
      it('step over a sequence reproduces forward, and forward carries its state across calls', async () => {
        const layer = new Layer({ dModel: 16, heads: 2, headDim: 8, chunkSize: 4, seed: 3 });
        const x = tf.tidy(() => tf.mul(uniform([2, 7, 16], 5), 2));
        const { whole, ys, state } = await warmThenRun(
          () => {
            const whole = layer.forward(x);
            let state = layer.zeroState(2);
            const ys: Tensor[] = [];
            for (let t = 0; t < 7; t++) {
              const r = layer.step(tf.squeeze(tf.slice(x, [0, t, 0], [2, 1, 16]), [1]), { initialState: state });
              ys.push(r.output);
              tf.dispose(state);
              state = r.finalState;
            }
            return { whole, ys, state };
          },
          (r) => tf.stack(r.ys, 1),
        );
        await expectAllClose(tf.stack(ys, 1), whole.output, { atol: 1e-4, rtol: 1e-4 });
        await expectAllClose(state.recurrent, whole.finalState.recurrent, { atol: 1e-4, rtol: 1e-4 });
        const { first, second } = await warmThenRun(
          () => {
            const first = layer.forward(tf.slice(x, [0, 0, 0], [2, 3, 16]));
            const second = layer.forward(tf.slice(x, [0, 3, 0], [2, 4, 16]), { initialState: first.finalState });
            return { first, second };
          },
          (r) => tf.concat([r.first.output, r.second.output], 1),
        );
        await expectAllClose(tf.concat([first.output, second.output], 1), whole.output, { atol: 1e-4, rtol: 1e-4 });
        // a step without a state starts from zeros, as the first step above did from zeroState
        const xt = tf.tidy(() => tf.squeeze(tf.slice(x, [0, 0, 0], [2, 1, 16]), [1]));
        const fresh = layer.step(xt);
        await expectAllClose(fresh.output, ys[0] as Tensor, { atol: 1e-6, rtol: 1e-6 });
        await expectNoLeaks(() => layer.forward(x));
        await expectNoLeaks(() => layer.forward(x, { initialState: state }));
        await expectNoLeaks(() => layer.step(xt, { initialState: state }));
        await expectNoLeaks(() => layer.step(xt));
        tf.dispose([x, whole, ys, state, first, second, xt, fresh]);
        layer.dispose();
      });
    });
  }
});

describe('delta-rule layers: parameters and validation', () => {
  it("name parameters as fla does, with fla's shapes", () => {
    const gdn = new GatedDeltaNet({ dModel: 16, heads: 2, headDim: 8 });
    const shapes = Object.fromEntries(gdn.namedParameters().map(([n, v]) => [n, v.shape]));
    expect(shapes).toEqual({
      'q_proj.weight': [16, 16],
      'k_proj.weight': [16, 16],
      'v_proj.weight': [32, 16],
      'b_proj.weight': [2, 16],
      'q_conv1d.weight': [16, 1, 4],
      'k_conv1d.weight': [16, 1, 4],
      'v_conv1d.weight': [32, 1, 4],
      'g_proj.weight': [32, 16],
      'o_norm.weight': [16],
      'o_proj.weight': [16, 32],
      'a_proj.weight': [2, 16],
      A_log: [2],
      dt_bias: [2],
    });
    gdn.dispose();
  });

  it('initialise A_log and dt_bias in fla ranges: A ∈ (0, 16], softplus(dt_bias) ∈ [1e-3, 1e-1]', async () => {
    const gdn = new GatedDeltaNet({ heads: 16 });
    const a = (await tf.exp(gdn.A_log).data()) as Float32Array;
    const dt = (await tf.softplus(gdn.dt_bias).data()) as Float32Array;
    for (const v of a) expect(v > 0 && v <= 16).toBe(true);
    for (const v of dt) expect(v >= 1e-3 * 0.999 && v <= 1e-1 * 1.001).toBe(true);
    gdn.dispose();
  });
});

describe('delta-rule layers learn associative recall', () => {
  // on wasm: the same maths as cpu, about ten times faster for these small matmuls
  let previous = '';
  beforeAll(async () => {
    previous = tf.getBackend();
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend(previous);
  });
  // 4 (key, value) pairs over 8 keys and 8 values, then a query key: a model that cannot retrieve can at best
  // spread its guess over the 8 values, cross-entropy log 8 ≈ 2.08; below 0.5 it must be recalling the pair.
  // One layer suffices (its short convolution puts each key beside its value) and learns in 40–80 steps
  // of 64 sequences, a few seconds; the loop yields between steps so that a busy machine's test runner
  // still hears from this worker.
  const [PAIRS, KEYS, VALUES] = [4, 8, 8];
  const THRESHOLD = 0.5;
  const MAX_STEPS = 150;
  for (const [name, Layer] of KINDS) {
    it(`a ${name} model drives the loss from log 8 to below ${THRESHOLD}`, async () => {
      const model = new TinyModel(Layer, KEYS + VALUES, { dModel: 32, heads: 2, headDim: 16, seed: 1 });
      const optimizer = tf.train.adam(0.04);
      const test = recallBatch(128, PAIRS, KEYS, VALUES, 12345);
      const evalLoss = () =>
        tf.tidy(() => tf.losses.softmaxCrossEntropy(test.target, model.lastLogits(test.tokens)).dataSync()[0] as number);
      const before = evalLoss();
      let step = 0;
      while (step < MAX_STEPS) {
        const batch = recallBatch(64, PAIRS, KEYS, VALUES, ++step);
        optimizer.minimize(() => tf.losses.softmaxCrossEntropy(batch.target, model.lastLogits(batch.tokens)), false, model.parameters());
        tf.dispose(batch);
        if (step % 5 === 0 && evalLoss() < THRESHOLD) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const after = evalLoss();
      expect(before).toBeGreaterThan(2);
      expect(after, `${name}: loss ${before.toFixed(3)} → ${after.toFixed(3)} in ${step} steps`).toBeLessThan(THRESHOLD);
      tf.dispose(test);
      optimizer.dispose();
      model.dispose();
    });
  }
});
