import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { runKernel } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { batchedMatMul, deltaRuleChunked } from '../src/delta-rule/chunk.js';
import { deltaRule, deltaRuleStep } from '../src/delta-rule/index.js';
import { deltaRuleChunkOp, deltaRuleStepOp } from '../src/delta-rule/op.js';
import { chunkWebGPU, type PlainInput } from '../src/delta-rule/kernel.js';
import { deltaRuleReference } from '../src/delta-rule/reference.js';
import { chunkTile } from '../src/delta-rule/tile.js';
import { deltaCase, STATE_VARIANTS, slice3, tokenAt, warmThenRun } from './cases.js';

const makeCase = deltaCase;

describeBackends('deltaRule', (backend) => {
  it('runs a Tessera kernel: WGSL on webgpu, the host recurrence on cpu and wasm (its step on cpu only)', () => {
    expect(deltaRuleChunkOp.hasKernel()).toBe(true);
    expect(deltaRuleStepOp.hasKernel()).toBe(backend !== 'wasm');
    expect(deltaRuleChunkOp.hasKernel('webgl')).toBe(false);
  });

  it('multiplies batches of matrices in slices below the dispatch limit, as one matmul would', async () => {
    // the block inversion's first level reaches WebGPU's 65535-workgroup Z limit at H = 8, L = 16384, C = 64; sliced
    // here at 3 to run that path on small tensors
    const a = philoxUniform([7, 2, 3], { seed: 1, low: -1, high: 1 });
    const b = philoxUniform([7, 3, 4], { seed: 2, low: -1, high: 1 });
    const whole = tf.matMul(a, b);
    for (const maxBatch of [3, 7, 100]) {
      const sliced = batchedMatMul(a, b, maxBatch);
      expect(sliced.shape).toEqual([7, 2, 4]);
      await expectAllClose(sliced, whole, { atol: 1e-6, rtol: 1e-6 });
      sliced.dispose();
    }
    await expectNoLeaks(() => batchedMatMul(a, b, 2));
    tf.dispose([a, b, whole]);
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
        chunk: deltaRule(c.q, c.k, c.v, c.beta, { chunkSize, initialState: c.state }),
        rec: deltaRule(c.q, c.k, c.v, c.beta, { mode: 'recurrent', initialState: c.state }),
      }));
      await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, chunk, rec]);
    });
  }

  it('the tfjs chunked form agrees with the recurrence with Dk ≠ Dv and a chunk that does not divide L', async () => {
    const c = makeCase(1, 3, 13, 4, 10, 7);
    const scale = 0.7;
    const { chunk, rec } = await warmThenRun(() => ({
      chunk: deltaRuleChunked({ ...c, g: undefined }, 5, scale),
      rec: deltaRuleReference({ ...c, g: undefined }, scale),
    }));
    await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
    await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, chunk, rec]);
  });

  it('the tfjs chunked form stays exact with strongly correlated keys at a 64-token chunk (forward and gradient)', async () => {
    // keys sharing one direction (cosines ≈ 0.8), β near 1: the regime of an LM's first training steps, where
    // the former Neumann-product inverse of (I + A) blew up (residual ~1e9) and training went NaN
    const c = makeCase(1, 2, 64, 16, 8, 31);
    const shared = philoxUniform([1, 1, 1, 16], { seed: 77, low: -1, high: 1 });
    const raw = tf.add(tf.mul(c.k, 0.4), shared);
    const k = tf.div(raw, tf.norm(raw, 'euclidean', -1, true));
    const beta = tf.add(tf.mul(c.beta, 0.1), 0.88);
    const inputs = { ...c, k, beta, g: undefined };
    const { chunk, rec } = await warmThenRun(() => ({
      chunk: deltaRuleChunked(inputs, 64, 0.5),
      rec: deltaRuleReference(inputs, 0.5),
    }));
    await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
    await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
    const loss = (f: typeof deltaRuleChunked) => (kk: Tensor) => tf.sum(tf.square(f({ ...inputs, k: kk }, 64, 0.5).output));
    const gChunk = tf.grad(loss(deltaRuleChunked))(k);
    const gRec = tf.grad(loss((t, _c, s) => deltaRuleReference(t, s)))(k);
    await expectAllClose(gChunk, gRec, { atol: 1e-3, rtol: 1e-3 });
    tf.dispose([c, shared, raw, k, beta, chunk, rec, gChunk, gRec]);
  });

  // the kernel's other tiles: 16-column slices (B·H·Dv/16 ≥ 128), 8-column slices with shorter chunks
  // (Dk > 128), and the tfjs chunked form for Dk > MAX_KERNEL_DK
  for (const [b, h, l, dk, dv] of [
    [2, 4, 5, 4, 256],
    [1, 1, 3, 144, 3],
    [1, 1, 2, 260, 2],
  ] as const) {
    it(`chunked form agrees with the recurrence for B=${b} H=${h} L=${l} Dk=${dk} Dv=${dv}`, async () => {
      const c = makeCase(b, h, l, dk, dv, dk + dv);
      const { chunk, rec } = await warmThenRun(() => ({
        chunk: deltaRule(c.q, c.k, c.v, c.beta, { initialState: c.state }),
        rec: deltaRule(c.q, c.k, c.v, c.beta, { mode: 'recurrent', initialState: c.state }),
      }));
      await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, chunk, rec]);
    });
  }

  // the WGSL passes' other tiles: 40-token chunks (the last one partial) padded to the 64-token blocks
  // of the prepare and output passes, 8-column state slices the last of which overhangs Dv (V' sums split
  // three ways), full 64-token chunks whose Dk and Dv span more than one slab of the prepare and output
  // passes (the state's sums over C split three ways, 22 terms to a part), and a Dk so large that the
  // chunk shrinks to fit the state pass's workgroup memory, leaving no room to split its sums.
  for (const [b, h, l, dk, dv, chunkSize, tile] of [
    [2, 8, 45, 8, 60, 40, { chunk: 40, slice: 8, split: 4, threads: 256 }],
    [1, 1, 66, 80, 72, 64, { chunk: 64, slice: 4, split: 4, threads: 256 }],
    [1, 1, 28, 256, 4, 64, { chunk: 27, slice: 4, split: 1, threads: 128 }],
  ] as const) {
    it(`chunked form with tile ${JSON.stringify(tile)} agrees with the recurrence (B=${b} H=${h} L=${l} Dk=${dk} Dv=${dv})`, async () => {
      expect(chunkTile(b * h, dk, dv, chunkSize, l)).toEqual(tile);
      const c = makeCase(b, h, l, dk, dv, l + dv);
      const { chunk, oracle } = await warmThenRun(() => ({
        chunk: deltaRule(c.q, c.k, c.v, c.beta, { chunkSize, initialState: c.state }),
        oracle: deltaRule(c.q, c.k, c.v, c.beta, { mode: 'recurrent', initialState: c.state }),
      }));
      await expectAllClose(chunk.output, oracle.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk.finalState, oracle.finalState, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, chunk, oracle]);
    });
  }

  // every variant of the state pass (STATE_VARIANTS) on one input: three chunks, the last partial, sums over Dk
  // and C split evenly, and slices (4, 8 or 16 columns) the last of which overhangs Dv
  for (const variant of backend === 'webgpu' ? STATE_VARIANTS : []) {
    it(`the WGSL forward with the state pass's ${JSON.stringify(variant)} agrees with the recurrence`, async () => {
      const c = makeCase(1, 2, 90, 24, 10, 40 + variant.split + variant.threads);
      const pick: typeof chunkTile = (...args) => ({ ...chunkTile(...args), ...variant });
      const inputs = { q: c.q, k: c.k, v: c.v, beta: c.beta, state: c.state };
      const { chunk, rec } = await warmThenRun(() => ({
        chunk: runKernel(chunkWebGPU<PlainInput>(false, pick), inputs, { chunkSize: 32, scale: 0.3 }),
        rec: deltaRule(c.q, c.k, c.v, c.beta, { mode: 'recurrent', scale: 0.3, initialState: c.state }),
      }));
      await expectAllClose(chunk[0] as Tensor, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk[1] as Tensor, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, chunk, rec]);
    });
  }

  it('splitting a sequence in two and carrying the state equals one call', async () => {
    const c = makeCase(1, 2, 20, 8, 8, 3);
    const parts = (start: number, size: number) =>
      [c.q, c.k, c.v, c.beta].map((x) => slice3(x, start, size)) as [Tensor, Tensor, Tensor, Tensor];
    const { whole, first, second } = await warmThenRun(
      () => {
        const whole = deltaRule(c.q, c.k, c.v, c.beta, { chunkSize: 8 });
        const first = deltaRule(...parts(0, 9), { chunkSize: 8 });
        const second = deltaRule(...parts(9, 11), { chunkSize: 8, initialState: first.finalState });
        return { whole, first, second };
      },
      (r) => tf.concat([r.first.output, r.second.output], 2),
    );
    await expectAllClose(tf.concat([first.output, second.output], 2), whole.output, { atol: 1e-4, rtol: 1e-4 });
    await expectAllClose(second.finalState, whole.finalState, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, whole, first, second]);
  });

  it('matches the formulas by hand on L = 1 and L = 2', async () => {
    // Dk = 2, Dv = 1, zero start state, scale 1/√2
    const [q1, q2, k1, k2, v1, v2, b1, b2] = [[1, 2], [0.5, -1], [0.6, 0.8], [1, 0], [3], [-2], 0.5, 0.25] as const;
    const s = 1 / Math.sqrt(2);
    const u1 = b1 * v1[0];
    const S1 = [k1[0] * u1, k1[1] * u1] as const;
    const o1 = s * (q1[0] * S1[0] + q1[1] * S1[1]);
    const u2 = b2 * (v2[0] - (k2[0] * S1[0] + k2[1] * S1[1]));
    const S2 = [S1[0] + k2[0] * u2, S1[1] + k2[1] * u2] as const;
    const o2 = s * (q2[0] * S2[0] + q2[1] * S2[1]);
    const q = tf.tensor4d([...q1, ...q2], [1, 1, 2, 2]);
    const k = tf.tensor4d([...k1, ...k2], [1, 1, 2, 2]);
    const v = tf.tensor4d([...v1, ...v2], [1, 1, 2, 1]);
    const beta = tf.tensor3d([b1, b2], [1, 1, 2]);
    for (const mode of ['chunk', 'recurrent'] as const) {
      const first = (x: Tensor, size: number[]) => tf.slice(x, 0, size);
      const one = await warmThenRun(() =>
        deltaRule(first(q, [1, 1, 1, 2]), first(k, [1, 1, 1, 2]), first(v, [1, 1, 1, 1]), first(beta, [1, 1, 1]), { mode }),
      );
      await expectAllClose(one.output, [o1], { atol: 1e-6 });
      await expectAllClose(one.finalState, S1, { atol: 1e-6 });
      const two = await warmThenRun(() => deltaRule(q, k, v, beta, { mode }));
      await expectAllClose(two.output, [o1, o2], { atol: 1e-6 });
      await expectAllClose(two.finalState, S2, { atol: 1e-6 });
      tf.dispose([one, two]);
    }
    tf.dispose([q, k, v, beta]);
  });

  it('honours an explicit scale', async () => {
    const c = makeCase(1, 1, 5, 4, 3, 21);
    const a = deltaRule(c.q, c.k, c.v, c.beta, { scale: 2 });
    const b = deltaRule(tf.mul(c.q, 4), c.k, c.v, c.beta, { scale: 0.5 });
    await expectAllClose(a.output, b.output, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([c, a, b]);
  });

  it('frees every intermediate', async () => {
    const c = makeCase(1, 2, 9, 4, 4, 5);
    await expectNoLeaks(() => deltaRule(c.q, c.k, c.v, c.beta, { chunkSize: 4, initialState: c.state }));
    await expectNoLeaks(() => deltaRule(c.q, c.k, c.v, c.beta, { mode: 'recurrent' }));
    tf.dispose(c);
  });

  it('trains through the chunk op: its gradient equals the gradient of the recurrence', async () => {
    const c = makeCase(1, 2, 6, 4, 3, 8);
    const w = philoxUniform([1, 2, 6, 3], { seed: 99, low: -1, high: 1 });
    const ws = philoxUniform([1, 2, 4, 3], { seed: 98, low: -1, high: 1 });
    const loss = (mode: 'chunk' | 'recurrent') => (q: Tensor, k: Tensor, v: Tensor, beta: Tensor, state: Tensor) => {
      const r = deltaRule(q, k, v, beta, { mode, chunkSize: 4, initialState: state });
      return tf.add(tf.sum(tf.mul(r.output, w)), tf.sum(tf.mul(r.finalState, ws)));
    };
    const args = [c.q, c.k, c.v, c.beta, c.state];
    const { gChunk, gRec } = await warmThenRun(() => ({ gChunk: tf.grads(loss('chunk'))(args), gRec: tf.grads(loss('recurrent'))(args) }));
    for (let i = 0; i < args.length; i++) await expectAllClose(gChunk[i] as Tensor, gRec[i] as Tensor, { atol: 1e-4, rtol: 1e-3 });
    tf.dispose([c, w, ws, gChunk, gRec]);
  });
});

describeBackends('deltaRuleStep', () => {
  it('equals deltaRule on one token, and stepping through a sequence equals the sequence', async () => {
    const c = makeCase(2, 2, 5, 6, 4, 40);
    const whole = deltaRule(c.q, c.k, c.v, c.beta, { mode: 'recurrent', initialState: c.state });
    let state = c.state;
    const outs: Tensor[] = [];
    for (let t = 0; t < 5; t++) {
      const at = (x: Tensor) => tokenAt(x, t);
      const r = deltaRuleStep(at(c.q), at(c.k), at(c.v), at(c.beta), { initialState: state });
      outs.push(r.output);
      state = r.finalState;
    }
    await expectAllClose(tf.stack(outs, 2), whole.output, { atol: 1e-5, rtol: 1e-5 });
    await expectAllClose(state, whole.finalState, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([c, whole, outs, state]);
  });

  it('frees every intermediate', async () => {
    const c = makeCase(1, 2, 1, 4, 4, 41);
    const [q, k, v, beta] = [c.q, c.k, c.v, c.beta].map((x) => tf.squeeze(x, [2])) as [Tensor, Tensor, Tensor, Tensor];
    await expectNoLeaks(() => deltaRuleStep(q, k, v, beta, { initialState: c.state }));
    await expectNoLeaks(() => deltaRuleStep(q, k, v, beta));
    tf.dispose([c, q, k, v, beta]);
  });

  it('starts from a zero state when none is given', async () => {
    const c = makeCase(2, 1, 1, 4, 3, 42);
    const [q, k, v, beta] = [c.q, c.k, c.v, c.beta].map((x) => tokenAt(x, 0)) as [Tensor, Tensor, Tensor, Tensor];
    const zero = tf.zeros([2, 1, 4, 3]);
    const implicit = deltaRuleStep(q, k, v, beta);
    const explicit = deltaRuleStep(q, k, v, beta, { initialState: zero });
    await expectAllClose(implicit.output, explicit.output, { atol: 0, rtol: 0 });
    await expectAllClose(implicit.finalState, explicit.finalState, { atol: 0, rtol: 0 });
    tf.dispose([c, q, k, v, beta, zero, implicit, explicit]);
  });
});

describe('deltaRule gradients', () => {
  it('tf.grad through the tfjs chunked form matches finite differences', async () => {
    const c = makeCase(1, 1, 5, 3, 2, 50);
    const w = philoxUniform([1, 1, 5, 2], { seed: 51, low: -1, high: 1 });
    const f = (q: Tensor, k: Tensor, v: Tensor, beta: Tensor, state: Tensor): Tensor =>
      tf.tidy(() => {
        const r = deltaRuleChunked({ q, k, v, beta, state }, 2, 0.6);
        return tf.add(tf.sum(tf.mul(r.output, w)), tf.sum(tf.square(r.finalState)));
      });
    const args = [c.q, c.k, c.v, c.beta, c.state];
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
          const y = f(...(xs as [Tensor, Tensor, Tensor, Tensor, Tensor]));
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

describeBackends(
  'deltaRule NaN on WebGPU (no synchronous readback to validate)',
  () => {
    const c = makeCase(1, 2, 4, 3, 2, 60);
    it('confines a NaN to its (b, h), from its chunk on, and the final state', async () => {
      const beta = tf.tidy(() => tf.where(tf.equal(tf.range(0, 8).reshape([1, 2, 4]), 5), tf.fill([1, 2, 4], Number.NaN), c.beta));
      const r = deltaRule(c.q, c.k, c.v, beta, { chunkSize: 2 });
      const out = (await r.output.data()) as Float32Array;
      const state = (await r.finalState.data()) as Float32Array;
      // NaN in (head 1, token 1): head 0 is untouched; head 1 is NaN from chunk [0, 2) on
      expect(Array.from(out.slice(0, 8)).every(Number.isFinite)).toBe(true);
      expect(Array.from(out.slice(12)).every(Number.isNaN)).toBe(true);
      expect(Array.from(state.slice(0, 6)).every(Number.isFinite)).toBe(true);
      expect(Array.from(state.slice(6)).every(Number.isNaN)).toBe(true);
      tf.dispose([beta, r]);
    });
  },
  { backends: ['webgpu'] },
);
