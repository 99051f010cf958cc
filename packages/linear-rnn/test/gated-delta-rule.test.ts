import { philoxUniform, ShapeError, type Tensor, TesseraError, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { deltaRule, deltaRuleChunked, gatedDeltaRuleChunkOp, gatedDeltaRuleStepOp } from '../src/delta-rule/index.js';
import { chunkTile } from '../src/delta-rule/tile.js';
import { gatedDeltaRule, gatedDeltaRuleStep } from '../src/gated-delta-rule/index.js';

function uniform(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  return tf.tidy(() => tf.add(tf.mul(philoxUniform(shape, { seed }), hi - lo), lo));
}

type Case = { q: Tensor; k: Tensor; v: Tensor; beta: Tensor; g: Tensor; state: Tensor };

/** Normalised keys, β ∈ (0, 1) and log-decays g ∈ (−0.7, 0) (decay factors 0.5 … 1). */
function makeCase(b: number, h: number, l: number, dk: number, dv: number, seed: number): Case {
  return tf.tidy(() => {
    const k = uniform([b, h, l, dk], seed + 1);
    return {
      q: uniform([b, h, l, dk], seed),
      k: tf.div(k, tf.norm(k, 'euclidean', -1, true)),
      v: uniform([b, h, l, dv], seed + 2),
      beta: uniform([b, h, l], seed + 3, 0.05, 0.95),
      g: uniform([b, h, l], seed + 5, -0.7, 0),
      state: uniform([b, h, dk, dv], seed + 4, -0.5, 0.5),
    };
  });
}

function slice3(x: Tensor, start: number, size: number): Tensor {
  return tf.slice(
    x,
    x.shape.map((_, i) => (i === 2 ? start : 0)),
    x.shape.map((d, i) => (i === 2 ? size : d)),
  );
}

describeBackends('gatedDeltaRule', (backend) => {
  it('runs the WGSL kernels on webgpu only', () => {
    expect(gatedDeltaRuleChunkOp.hasKernel()).toBe(backend === 'webgpu');
    expect(gatedDeltaRuleStepOp.hasKernel()).toBe(backend === 'webgpu');
  });

  for (const [l, chunkSize] of [
    [12, 4],
    [11, 4],
    [7, 64],
    [40, 16],
  ] as const) {
    it(`chunked form agrees with the recurrence (L = ${l}, chunkSize ${chunkSize}) from a given state`, async () => {
      const c = makeCase(2, 2, l, 8, 6, 10 * l + chunkSize);
      const chunk = gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { chunkSize, initialState: c.state });
      const rec = gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { mode: 'recurrent', initialState: c.state });
      await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, chunk, rec]);
    });
  }

  // the WGSL passes' other tiles (chunks of two 32-row output blocks, the last chunk partial; 8-column
  // state slices overhanging Dv)
  it('chunked form with 40-token chunks and 8-column slices agrees with the recurrence (B=2 H=8 L=45 Dk=8 Dv=28)', async () => {
    expect(chunkTile(16, 8, 28, 40, 45)).toEqual({ chunk: 40, slice: 8 });
    const c = makeCase(2, 8, 45, 8, 28, 71);
    const chunk = gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { chunkSize: 40, initialState: c.state });
    const oracle = gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { mode: 'recurrent', initialState: c.state });
    await expectAllClose(chunk.output, oracle.output, { atol: 1e-4, rtol: 1e-4 });
    await expectAllClose(chunk.finalState, oracle.finalState, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, chunk, oracle]);
  });

  it('stays accurate under strong decay (g down to −8 per token)', async () => {
    const c = makeCase(1, 2, 24, 8, 8, 77);
    const g = tf.mul(c.g, 12);
    const chunk = gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { chunkSize: 16 });
    const rec = gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { mode: 'recurrent' });
    await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, g, chunk, rec]);
  });

  it('reduces to the delta rule when g = 0', async () => {
    const c = makeCase(1, 2, 9, 4, 4, 31);
    const gated = gatedDeltaRule(c.q, c.k, c.v, c.beta, tf.zerosLike(c.g), { chunkSize: 4 });
    const plain = deltaRule(c.q, c.k, c.v, c.beta, { chunkSize: 4 });
    await expectAllClose(gated.output, plain.output, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([c, gated, plain]);
  });

  it('splitting a sequence in two and carrying the state equals one call', async () => {
    const c = makeCase(1, 2, 20, 8, 8, 3);
    const whole = gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { chunkSize: 8 });
    const parts = (start: number, size: number) =>
      [c.q, c.k, c.v, c.beta, c.g].map((x) => slice3(x, start, size)) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const first = gatedDeltaRule(...parts(0, 9), { chunkSize: 8 });
    const second = gatedDeltaRule(...parts(9, 11), { chunkSize: 8, initialState: first.finalState });
    await expectAllClose(tf.concat([first.output, second.output], 2), whole.output, { atol: 1e-4, rtol: 1e-4 });
    await expectAllClose(second.finalState, whole.finalState, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, whole, first, second]);
  });

  it('matches the formulas by hand on L = 1 and L = 2 from a non-zero state', async () => {
    // Dk = 2, Dv = 1, S0 = [1, −1]ᵀ, scale 1/√2; the decay applies before the delta correction
    const s = 1 / Math.sqrt(2);
    const S0 = [1, -1] as const;
    const [g1, g2, b1, b2] = [-0.5, -1, 0.5, 0.25] as const;
    const q1 = [1, 2] as const;
    const q2 = [0.5, -1] as const;
    const k1 = [0.6, 0.8] as const;
    const k2 = [1, 0] as const;
    const [v1, v2] = [3, -2] as const;
    const a1 = Math.exp(g1);
    const u1 = b1 * (v1 - a1 * (k1[0] * S0[0] + k1[1] * S0[1]));
    const S1 = [a1 * S0[0] + k1[0] * u1, a1 * S0[1] + k1[1] * u1] as const;
    const o1 = s * (q1[0] * S1[0] + q1[1] * S1[1]);
    const a2 = Math.exp(g2);
    const u2 = b2 * (v2 - a2 * (k2[0] * S1[0] + k2[1] * S1[1]));
    const S2 = [a2 * S1[0] + k2[0] * u2, a2 * S1[1] + k2[1] * u2] as const;
    const o2 = s * (q2[0] * S2[0] + q2[1] * S2[1]);
    const q = tf.tensor4d([...q1, ...q2], [1, 1, 2, 2]);
    const k = tf.tensor4d([...k1, ...k2], [1, 1, 2, 2]);
    const v = tf.tensor4d([v1, v2], [1, 1, 2, 1]);
    const beta = tf.tensor3d([b1, b2], [1, 1, 2]);
    const g = tf.tensor3d([g1, g2], [1, 1, 2]);
    const state = tf.tensor4d([...S0], [1, 1, 2, 1]);
    for (const mode of ['chunk', 'recurrent'] as const) {
      const first = (x: Tensor) => slice3(x, 0, 1);
      const one = gatedDeltaRule(first(q), first(k), first(v), first(beta), first(g), { mode, initialState: state });
      await expectAllClose(one.output, [o1], { atol: 1e-6 });
      await expectAllClose(one.finalState, S1, { atol: 1e-6 });
      const two = gatedDeltaRule(q, k, v, beta, g, { mode, initialState: state });
      await expectAllClose(two.output, [o1, o2], { atol: 1e-6 });
      await expectAllClose(two.finalState, S2, { atol: 1e-6 });
      tf.dispose([one, two]);
    }
    tf.dispose([q, k, v, beta, g, state]);
  });

  it('frees every intermediate', async () => {
    const c = makeCase(1, 2, 9, 4, 4, 5);
    await expectNoLeaks(() => gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { chunkSize: 4, initialState: c.state }));
    await expectNoLeaks(() => gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { mode: 'recurrent' }));
    tf.dispose(c);
  });

  it('trains through the chunk op: its gradient equals the gradient of the recurrence', async () => {
    const c = makeCase(1, 2, 6, 4, 3, 8);
    const w = uniform([1, 2, 6, 3], 99);
    const loss = (mode: 'chunk' | 'recurrent') => (q: Tensor, k: Tensor, v: Tensor, beta: Tensor, g: Tensor, state: Tensor) => {
      const r = gatedDeltaRule(q, k, v, beta, g, { mode, chunkSize: 4, initialState: state });
      return tf.add(tf.sum(tf.mul(r.output, w)), tf.sum(r.finalState));
    };
    const args = [c.q, c.k, c.v, c.beta, c.g, c.state];
    const gChunk = tf.grads(loss('chunk'))(args);
    const gRec = tf.grads(loss('recurrent'))(args);
    for (let i = 0; i < args.length; i++) await expectAllClose(gChunk[i] as Tensor, gRec[i] as Tensor, { atol: 1e-4, rtol: 1e-3 });
    tf.dispose([c, w, gChunk, gRec]);
  });
});

describeBackends('gatedDeltaRuleStep', () => {
  it('stepping through a sequence equals the sequence', async () => {
    const c = makeCase(2, 2, 5, 6, 4, 40);
    const whole = gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { mode: 'recurrent', initialState: c.state });
    let state = c.state;
    const outs: Tensor[] = [];
    for (let t = 0; t < 5; t++) {
      const at = (x: Tensor) => tf.squeeze(slice3(x, t, 1), [2]);
      const r = gatedDeltaRuleStep(at(c.q), at(c.k), at(c.v), at(c.beta), at(c.g), state);
      outs.push(r.output);
      state = r.state;
    }
    await expectAllClose(tf.stack(outs, 2), whole.output, { atol: 1e-5, rtol: 1e-5 });
    await expectAllClose(state, whole.finalState, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([c, whole, outs, state]);
  });

  it('frees every intermediate', async () => {
    const c = makeCase(1, 2, 1, 4, 4, 41);
    const [q, k, v, beta, g] = [c.q, c.k, c.v, c.beta, c.g].map((x) => tf.squeeze(x, [2])) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    await expectNoLeaks(() => gatedDeltaRuleStep(q, k, v, beta, g, c.state));
    tf.dispose([c, q, k, v, beta, g]);
  });
});

describe('gatedDeltaRule gradients', () => {
  it('tf.grad through the tfjs chunked form matches finite differences', async () => {
    const c = makeCase(1, 1, 5, 3, 2, 50);
    const w = uniform([1, 1, 5, 2], 51);
    const f = (q: Tensor, k: Tensor, v: Tensor, beta: Tensor, g: Tensor, state: Tensor): Tensor =>
      tf.tidy(() => {
        const r = deltaRuleChunked({ q, k, v, beta, g, state }, 2, 0.6);
        return tf.add(tf.sum(tf.mul(r.output, w)), tf.sum(tf.square(r.finalState)));
      });
    const args = [c.q, c.k, c.v, c.beta, c.g, c.state];
    const grads = tf.grads(f)(args);
    const eps = 1e-2;
    for (let a = 0; a < args.length; a++) {
      const x = args[a] as Tensor;
      const values = (await x.data()) as Float32Array;
      const analytic = (await (grads[a] as Tensor).data()) as Float32Array;
      for (let i = 0; i < values.length; i += 2) {
        const at = (delta: number) => {
          const moved = values.slice();
          moved[i] = (moved[i] as number) + delta;
          const xs = args.map((t, j) => (j === a ? tf.tensor(moved, x.shape) : t));
          const y = f(...(xs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]));
          const out = y.dataSync()[0] as number;
          tf.dispose([y, xs[a] as Tensor]);
          return out;
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(numeric - (analytic[i] as number)), `argument ${a}, element ${i}`).toBeLessThan(2e-3 + 2e-3 * Math.abs(numeric));
      }
    }
    tf.dispose([c, w, grads]);
  });
});

describe('gatedDeltaRule input validation', () => {
  const c = makeCase(1, 2, 4, 3, 2, 60);
  it('rejects a g whose B, H or L does not match q', () => {
    const call = () => gatedDeltaRule(c.q, c.k, c.v, c.beta, tf.zeros([1, 2, 3]));
    expect(call).toThrow(ShapeError);
    expect(call).toThrow(/^g: .*\(L\)/);
    const step = () =>
      gatedDeltaRuleStep(
        tf.zeros([1, 2, 3]),
        tf.zeros([1, 2, 3]),
        tf.zeros([1, 2, 2]),
        tf.zeros([1, 2]),
        tf.zeros([2, 2]),
        tf.zeros([1, 2, 3, 2]),
      );
    expect(step).toThrow(TesseraError);
    expect(step).toThrow(/^g: .*\(B\)/);
  });

  it('rejects a non-positive chunkSize and a mismatched state', () => {
    expect(() => gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { chunkSize: -4 })).toThrow(
      /^opts\.chunkSize: expected an integer ≥ 1, received -4/,
    );
    expect(() => gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { initialState: tf.zeros([1, 2, 3, 5]) })).toThrow(/^initialState: .*\(Dv\)/);
  });
});
