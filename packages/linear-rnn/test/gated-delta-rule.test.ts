import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { runKernel } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { deltaRuleChunked } from '../src/delta-rule/chunk.js';
import { deltaRule } from '../src/delta-rule/index.js';
import { chunkWebGPU, type GatedInput } from '../src/delta-rule/kernel.js';
import { gatedDeltaRuleChunkOp, gatedDeltaRuleStepOp } from '../src/delta-rule/op.js';
import { chunkTile } from '../src/delta-rule/tile.js';
import { gatedDeltaRule, gatedDeltaRuleStep } from '../src/gated-delta-rule/index.js';
import { deltaCase, STATE_VARIANTS, slice3, tokenAt, warmThenRun, withResets } from './cases.js';

const makeCase = deltaCase;

/** Every value finite. */
async function expectFinite(x: Tensor, what: string): Promise<void> {
  const values = Array.from((await x.data()) as Float32Array);
  expect(values.every(Number.isFinite), `${what}: every value finite`).toBe(true);
}

describeBackends('gatedDeltaRule', (backend) => {
  it('runs a Tessera kernel: WGSL on webgpu, the host recurrence on cpu and wasm (its step on cpu only)', () => {
    expect(gatedDeltaRuleChunkOp.hasKernel()).toBe(true);
    expect(gatedDeltaRuleStepOp.hasKernel()).toBe(backend !== 'wasm');
    expect(gatedDeltaRuleChunkOp.hasKernel('webgl')).toBe(false);
  });

  for (const [l, chunkSize] of [
    [12, 4],
    [11, 4],
    [7, 64],
    [40, 16],
  ] as const) {
    it(`chunked form agrees with the recurrence (L = ${l}, chunkSize ${chunkSize}) from a given state`, async () => {
      const c = makeCase(2, 2, l, 8, 6, 10 * l + chunkSize);
      const { chunk, rec } = await warmThenRun(() => ({
        chunk: gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { chunkSize, initialState: c.state }),
        rec: gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { mode: 'recurrent', initialState: c.state }),
      }));
      await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, chunk, rec]);
    });
  }

  // the WGSL passes' other tiles (chunks of two 32-row output blocks, the last chunk partial; 8-column
  // state slices overhanging Dv)
  it('chunked form with 40-token chunks and 8-column slices agrees with the recurrence (B=2 H=8 L=45 Dk=8 Dv=60)', async () => {
    expect(chunkTile(16, 8, 60, 40, 45)).toEqual({ chunk: 40, slice: 8, split: 4, threads: 256 });
    const c = makeCase(2, 8, 45, 8, 60, 71);
    const { chunk, oracle } = await warmThenRun(() => ({
      chunk: gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { chunkSize: 40, initialState: c.state }),
      oracle: gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { mode: 'recurrent', initialState: c.state }),
    }));
    await expectAllClose(chunk.output, oracle.output, { atol: 1e-4, rtol: 1e-4 });
    await expectAllClose(chunk.finalState, oracle.finalState, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, chunk, oracle]);
  });

  // every variant of the state pass (STATE_VARIANTS) on one input with resets: at a chunk's first token, inside a
  // chunk and at the last token of the partial last chunk
  for (const variant of backend === 'webgpu' ? STATE_VARIANTS : []) {
    it(`the WGSL forward with the state pass's ${JSON.stringify(variant)} agrees with the recurrence`, async () => {
      const c = makeCase(1, 2, 90, 24, 10, 50 + variant.split + variant.threads);
      const g = withResets(c.g, [32, 47, 89, 100]);
      const pick: typeof chunkTile = (...args) => ({ ...chunkTile(...args), ...variant });
      const inputs = { q: c.q, k: c.k, v: c.v, beta: c.beta, g, state: c.state };
      const { chunk, rec } = await warmThenRun(() => ({
        chunk: runKernel(chunkWebGPU<GatedInput>(true, pick), inputs, { chunkSize: 32, scale: 0.3 }),
        rec: gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { mode: 'recurrent', scale: 0.3, initialState: c.state }),
      }));
      await expectFinite(chunk[0] as Tensor, 'output');
      await expectAllClose(chunk[0] as Tensor, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk[1] as Tensor, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, g, chunk, rec]);
    });
  }

  it('stays accurate under strong decay (g down to −8 per token)', async () => {
    const c = makeCase(1, 2, 24, 8, 8, 77);
    const g = tf.mul(c.g, 12);
    const { chunk, rec } = await warmThenRun(() => ({
      chunk: gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { chunkSize: 16 }),
      rec: gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { mode: 'recurrent' }),
    }));
    await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, g, chunk, rec]);
  });

  // L = 12 in chunks of 4 ([0, 4) [4, 8) [8, 12)), per (b, h) row of 12 tokens: resets at a chunk's first
  // token, in its middle, at its last token, twice in a row across a chunk boundary, and a finite g far
  // below RESET_BELOW (e^g is 0 in float32 there too)
  for (const [what, positions, finite] of [
    ['at a chunk start, inside a chunk and at a chunk end', [4, 13, 23, 42], false],
    ['twice in a row across a chunk boundary', [7, 8, 27, 28], false],
    ['every token of a head', [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23], false],
    ['at g = −200 (finite)', [4, 13, 23, 42], true],
  ] as const) {
    it(`chunk mode equals the recurrence with full resets (g = −∞) ${what}`, async () => {
      const c = makeCase(2, 2, 12, 8, 6, 90);
      const g = withResets(c.g, positions, finite ? -200 : Number.NEGATIVE_INFINITY);
      const { chunk, rec } = await warmThenRun(() => ({
        chunk: gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { chunkSize: 4, initialState: c.state }),
        rec: gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { mode: 'recurrent', initialState: c.state }),
      }));
      await expectFinite(rec.output, 'recurrent output');
      await expectFinite(chunk.output, 'chunk output');
      await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, g, chunk, rec]);
    });
  }

  it('a reset makes the output independent of everything before it', async () => {
    const c = makeCase(1, 1, 10, 4, 4, 91);
    const g = withResets(c.g, [3]);
    const { a, b } = await warmThenRun(() => ({
      a: gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { chunkSize: 4, initialState: c.state }),
      b: gatedDeltaRule(c.q, c.k, c.v, c.beta, g, { chunkSize: 4 }),
    }));
    await expectFinite(a.output, 'output');
    await expectAllClose(slice3(a.output, 3, 7), slice3(b.output, 3, 7), { atol: 1e-6, rtol: 1e-6 });
    tf.dispose([c, g, a, b]);
  });

  it('a step with g = −∞ forgets its state', async () => {
    const c = makeCase(1, 2, 1, 4, 3, 92);
    const [q, k, v, beta] = [c.q, c.k, c.v, c.beta].map((x) => tokenAt(x, 0)) as [Tensor, Tensor, Tensor, Tensor];
    const g = tf.fill([1, 2], Number.NEGATIVE_INFINITY);
    const { reset, fresh } = await warmThenRun(() => ({
      reset: gatedDeltaRuleStep(q, k, v, beta, g, { initialState: c.state }),
      fresh: gatedDeltaRuleStep(q, k, v, beta, g),
    }));
    await expectFinite(reset.output, 'output');
    await expectAllClose(reset.output, fresh.output, { atol: 1e-6, rtol: 1e-6 });
    await expectAllClose(reset.finalState, fresh.finalState, { atol: 1e-6, rtol: 1e-6 });
    tf.dispose([c, q, k, v, beta, g, reset, fresh]);
  });

  // 8-token chunks (the test above uses 4), with the gradient of g too: 0 at a reset in both forms
  it('trains through resets: the chunk gradient equals the recurrence gradient, finite', async () => {
    const c = makeCase(1, 2, 10, 4, 3, 93);
    const g = withResets(c.g, [2, 13]);
    const w = philoxUniform([1, 2, 10, 3], { seed: 94, low: -1, high: 1 });
    const loss = (mode: 'chunk' | 'recurrent') => (q: Tensor, k: Tensor, v: Tensor, beta: Tensor, gg: Tensor, state: Tensor) => {
      const r = gatedDeltaRule(q, k, v, beta, gg, { mode, chunkSize: 8, initialState: state });
      return tf.add(tf.sum(tf.mul(r.output, w)), tf.sum(r.finalState));
    };
    const args = [c.q, c.k, c.v, c.beta, g, c.state];
    const { gChunk, gRec } = await warmThenRun(() => ({ gChunk: tf.grads(loss('chunk'))(args), gRec: tf.grads(loss('recurrent'))(args) }));
    for (let i = 0; i < args.length; i++) {
      await expectFinite(gChunk[i] as Tensor, `gradient ${i}`);
      await expectAllClose(gChunk[i] as Tensor, gRec[i] as Tensor, { atol: 1e-4, rtol: 1e-3 });
    }
    tf.dispose([c, g, w, gChunk, gRec]);
  });

  it('reduces to the delta rule when g = 0', async () => {
    const c = makeCase(1, 2, 9, 4, 4, 31);
    const { gated, plain } = await warmThenRun(() => ({
      gated: gatedDeltaRule(c.q, c.k, c.v, c.beta, tf.zerosLike(c.g), { chunkSize: 4 }),
      plain: deltaRule(c.q, c.k, c.v, c.beta, { chunkSize: 4 }),
    }));
    await expectAllClose(gated.output, plain.output, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([c, gated, plain]);
  });

  it('splitting a sequence in two and carrying the state equals one call', async () => {
    const c = makeCase(1, 2, 20, 8, 8, 3);
    const parts = (start: number, size: number) =>
      [c.q, c.k, c.v, c.beta, c.g].map((x) => slice3(x, start, size)) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const { whole, first, second } = await warmThenRun(
      () => {
        const whole = gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g, { chunkSize: 8 });
        const first = gatedDeltaRule(...parts(0, 9), { chunkSize: 8 });
        const second = gatedDeltaRule(...parts(9, 11), { chunkSize: 8, initialState: first.finalState });
        return { whole, first, second };
      },
      (r) => tf.concat([r.first.output, r.second.output], 2),
    );
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
      const one = await warmThenRun(() =>
        gatedDeltaRule(first(q), first(k), first(v), first(beta), first(g), { mode, initialState: state }),
      );
      await expectAllClose(one.output, [o1], { atol: 1e-6 });
      await expectAllClose(one.finalState, S1, { atol: 1e-6 });
      const two = await warmThenRun(() => gatedDeltaRule(q, k, v, beta, g, { mode, initialState: state }));
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
    const w = philoxUniform([1, 2, 6, 3], { seed: 99, low: -1, high: 1 });
    const loss = (mode: 'chunk' | 'recurrent') => (q: Tensor, k: Tensor, v: Tensor, beta: Tensor, g: Tensor, state: Tensor) => {
      const r = gatedDeltaRule(q, k, v, beta, g, { mode, chunkSize: 4, initialState: state });
      return tf.add(tf.sum(tf.mul(r.output, w)), tf.sum(r.finalState));
    };
    const args = [c.q, c.k, c.v, c.beta, c.g, c.state];
    const { gChunk, gRec } = await warmThenRun(() => ({ gChunk: tf.grads(loss('chunk'))(args), gRec: tf.grads(loss('recurrent'))(args) }));
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
      const at = (x: Tensor) => tokenAt(x, t);
      const r = gatedDeltaRuleStep(at(c.q), at(c.k), at(c.v), at(c.beta), at(c.g), { initialState: state });
      outs.push(r.output);
      state = r.finalState;
    }
    await expectAllClose(tf.stack(outs, 2), whole.output, { atol: 1e-5, rtol: 1e-5 });
    await expectAllClose(state, whole.finalState, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([c, whole, outs, state]);
  });

  it('frees every intermediate', async () => {
    const c = makeCase(1, 2, 1, 4, 4, 41);
    const [q, k, v, beta, g] = [c.q, c.k, c.v, c.beta, c.g].map((x) => tf.squeeze(x, [2])) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    await expectNoLeaks(() => gatedDeltaRuleStep(q, k, v, beta, g, { initialState: c.state }));
    await expectNoLeaks(() => gatedDeltaRuleStep(q, k, v, beta, g));
    tf.dispose([c, q, k, v, beta, g]);
  });
});

describe('gatedDeltaRule gradients', () => {
  it('tf.grad through the tfjs chunked form matches finite differences', async () => {
    const c = makeCase(1, 1, 5, 3, 2, 50);
    const w = philoxUniform([1, 1, 5, 2], { seed: 51, low: -1, high: 1 });
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
