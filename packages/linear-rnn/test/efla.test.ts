import { philoxUniform, type Tensor, tf, warmUpWebGPU } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { deltaRule } from '../src/delta-rule/index.js';
import { efla, eflaStep, eflaStepSize } from '../src/efla/index.js';
import { gatedDeltaRule } from '../src/gated-delta-rule/index.js';
import { type DeltaCase, deltaCase, slice3, tokenAt, warmThenRun, withResets } from './cases.js';

/** Raw (un-normalised) keys with norms up to ~2.5, as EFLA takes them. */
function makeCase(b: number, h: number, l: number, dk: number, dv: number, seed: number): DeltaCase {
  return deltaCase(b, h, l, dk, dv, seed, { rawKeys: true });
}

describe('eflaStepSize', () => {
  it('equals (1 − e^{−β‖k‖²}) / ‖k‖², and β in the limit ‖k‖ → 0', async () => {
    const beta = tf.tensor1d([0.5, 0.9, 0.3, 0.7, 0.2]);
    // ‖k‖² = 4, 0.25, 1e-6, 0, 100
    const k = tf.tensor2d([2, 0, 0.3, 0.4, 1e-3, 0, 0, 0, 6, 8], [5, 2]);
    const expected = [4, 0.25, 1e-6, 0, 100].map((n, i) => {
      const b = [0.5, 0.9, 0.3, 0.7, 0.2][i] as number;
      return n === 0 ? b : -Math.expm1(-b * n) / n;
    });
    await expectAllClose(eflaStepSize(beta, k), expected, { atol: 0, rtol: 1e-6 });
    await expectNoLeaks(() => eflaStepSize(beta, k));
    tf.dispose([beta, k]);
  });

  it('has a finite gradient at k = 0 (dα/dβ = 1 there)', async () => {
    const k = tf.zeros([1, 3]);
    const gb = tf.grad((b: Tensor) => tf.sum(eflaStepSize(b, k)))(tf.tensor1d([0.4]));
    await expectAllClose(gb, [1], { atol: 1e-6 });
    tf.dispose([k, gb]);
  });

  it('is accurate on both sides of the series switch at β‖k‖² = 0.1', async () => {
    const xs = [0.0999999, 0.1000001, 0.03, 0.3];
    const beta = tf.tensor1d([1, 1, 1, 1]);
    const k = tf.tensor2d(
      xs.flatMap((x) => [Math.sqrt(x), 0]),
      [4, 2],
    );
    await expectAllClose(
      eflaStepSize(beta, k),
      xs.map((x) => -Math.expm1(-x) / x),
      { atol: 0, rtol: 1e-6 },
    );
    tf.dispose([beta, k]);
  });
});

describeBackends('efla', () => {
  for (const [l, chunkSize] of [
    [11, 4],
    [16, 8],
  ] as const) {
    it(`chunked form agrees with the recurrence on raw keys (L = ${l}, chunkSize ${chunkSize})`, async () => {
      const c = makeCase(1, 2, l, 8, 6, 10 * l + chunkSize);
      const { chunk, rec } = await warmThenRun(() => ({
        chunk: efla(c.q, c.k, c.v, c.beta, { chunkSize, initialState: c.state }),
        rec: efla(c.q, c.k, c.v, c.beta, { mode: 'recurrent', initialState: c.state }),
      }));
      await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
      const { gatedChunk, gatedRec } = await warmThenRun(() => ({
        gatedChunk: efla(c.q, c.k, c.v, c.beta, { chunkSize, g: c.g }),
        gatedRec: efla(c.q, c.k, c.v, c.beta, { mode: 'recurrent', g: c.g }),
      }));
      await expectAllClose(gatedChunk.output, gatedRec.output, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([c, chunk, rec, gatedChunk, gatedRec]);
    });
  }

  it('is the delta rule with β replaced by α (and the gated rule with a decay)', async () => {
    const c = makeCase(1, 2, 6, 4, 3, 5);
    const alpha = eflaStepSize(c.beta, c.k);
    const ours = efla(c.q, c.k, c.v, c.beta);
    const delta = deltaRule(c.q, c.k, c.v, alpha);
    await expectAllClose(ours.output, delta.output, { atol: 1e-5, rtol: 1e-5 });
    const gated = efla(c.q, c.k, c.v, c.beta, { g: c.g });
    const gdn = gatedDeltaRule(c.q, c.k, c.v, alpha, c.g);
    await expectAllClose(gated.output, gdn.output, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([c, alpha, ours, delta, gated, gdn]);
  });

  it('matches the closed-form step by hand on L = 1 and L = 2', async () => {
    // Dk = 2, Dv = 1, zero state, scale 1/√2: S_t = (I − α k kᵀ) S + α k v, α = (1 − e^{−β‖k‖²})/‖k‖²
    const s = 1 / Math.sqrt(2);
    const q1 = [1, 2] as const;
    const q2 = [0.5, -1] as const;
    const k1 = [1.5, 2] as const;
    const k2 = [0, 3] as const;
    const [v1, v2, b1, b2] = [3, -2, 0.5, 0.25] as const;
    const alpha = (b: number, k: readonly [number, number]) => {
      const n = k[0] * k[0] + k[1] * k[1];
      return (1 - Math.exp(-b * n)) / n;
    };
    const a1 = alpha(b1, k1);
    const S1 = [a1 * k1[0] * v1, a1 * k1[1] * v1] as const;
    const o1 = s * (q1[0] * S1[0] + q1[1] * S1[1]);
    const a2 = alpha(b2, k2);
    const kS = k2[0] * S1[0] + k2[1] * S1[1];
    const S2 = [S1[0] - a2 * k2[0] * kS + a2 * k2[0] * v2, S1[1] - a2 * k2[1] * kS + a2 * k2[1] * v2] as const;
    const o2 = s * (q2[0] * S2[0] + q2[1] * S2[1]);
    const q = tf.tensor4d([...q1, ...q2], [1, 1, 2, 2]);
    const k = tf.tensor4d([...k1, ...k2], [1, 1, 2, 2]);
    const v = tf.tensor4d([v1, v2], [1, 1, 2, 1]);
    const beta = tf.tensor3d([b1, b2], [1, 1, 2]);
    for (const mode of ['chunk', 'recurrent'] as const) {
      const first = (x: Tensor) => slice3(x, 0, 1);
      const one = await warmThenRun(() => efla(first(q), first(k), first(v), first(beta), { mode }));
      await expectAllClose(one.output, [o1], { atol: 1e-5, rtol: 1e-5 });
      const two = await warmThenRun(() => efla(q, k, v, beta, { mode }));
      await expectAllClose(two.output, [o1, o2], { atol: 1e-5, rtol: 1e-5 });
      await expectAllClose(two.finalState, S2, { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([one, two]);
    }
    tf.dispose([q, k, v, beta]);
  });

  it('splitting a sequence in two and carrying the state equals one call', async () => {
    const c = makeCase(1, 2, 14, 4, 4, 3);
    const parts = (start: number, size: number) =>
      [c.q, c.k, c.v, c.beta].map((x) => slice3(x, start, size)) as [Tensor, Tensor, Tensor, Tensor];
    const { whole, first, second } = await warmThenRun(
      () => {
        const whole = efla(c.q, c.k, c.v, c.beta, { chunkSize: 4 });
        const first = efla(...parts(0, 5), { chunkSize: 4 });
        const second = efla(...parts(5, 9), { chunkSize: 4, initialState: first.finalState });
        return { whole, first, second };
      },
      (r) => tf.concat([r.first.output, r.second.output], 2),
    );
    await expectAllClose(tf.concat([first.output, second.output], 2), whole.output, { atol: 1e-4, rtol: 1e-4 });
    await expectAllClose(second.finalState, whole.finalState, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, whole, first, second]);
  });

  it('stays bounded for large keys where the delta rule diverges', async () => {
    const c = makeCase(1, 1, 32, 4, 2, 9);
    const big = tf.mul(c.k, 6);
    const { ours, delta } = await warmThenRun(() => ({ ours: efla(c.q, big, c.v, c.beta), delta: deltaRule(c.q, big, c.v, c.beta) }));
    const maxAbs = async (x: Tensor) => Math.max(...Array.from((await x.data()) as Float32Array, Math.abs));
    expect(await maxAbs(ours.finalState)).toBeLessThan(10);
    expect(await maxAbs(delta.finalState)).toBeGreaterThan(1e3);
    tf.dispose([c, big, ours, delta]);
  });

  it('chunk mode equals the recurrence with full resets (g = −∞)', async () => {
    const c = makeCase(1, 2, 11, 8, 6, 15);
    const g = withResets(c.g, [0, 4, 5, 13, 21]);
    const { chunk, rec } = await warmThenRun(() => ({
      chunk: efla(c.q, c.k, c.v, c.beta, { chunkSize: 4, g, initialState: c.state }),
      rec: efla(c.q, c.k, c.v, c.beta, { mode: 'recurrent', g, initialState: c.state }),
    }));
    const values = Array.from((await chunk.output.data()) as Float32Array);
    expect(values.every(Number.isFinite)).toBe(true);
    await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
    await expectAllClose(chunk.finalState, rec.finalState, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([c, g, chunk, rec]);
  });

  it('steps reproduce the sequence, gated or not, and start from zeros without a state', async () => {
    const c = makeCase(1, 2, 4, 4, 3, 12);
    for (const gated of [false, true]) {
      const { whole, outs, state } = await warmThenRun(
        () => {
          const whole = efla(c.q, c.k, c.v, c.beta, { mode: 'recurrent', initialState: c.state, g: gated ? c.g : undefined });
          let state = c.state;
          const outs: Tensor[] = [];
          for (let t = 0; t < 4; t++) {
            const at = (x: Tensor) => tokenAt(x, t);
            const r = eflaStep(at(c.q), at(c.k), at(c.v), at(c.beta), { initialState: state, g: gated ? at(c.g) : undefined });
            outs.push(r.output);
            state = r.finalState;
          }
          return { whole, outs, state };
        },
        (r) => tf.stack(r.outs, 2),
      );
      await expectAllClose(tf.stack(outs, 2), whole.output, { atol: 1e-5, rtol: 1e-5 });
      await expectAllClose(state, whole.finalState, { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([whole, outs]);
    }
    const first = [c.q, c.k, c.v, c.beta].map((x) => tokenAt(x, 0)) as [Tensor, Tensor, Tensor, Tensor];
    const { fromZeros, whole } = await warmThenRun(
      () => ({
        fromZeros: eflaStep(...first),
        whole: efla(...([c.q, c.k, c.v, c.beta].map((x) => slice3(x, 0, 1)) as [Tensor, Tensor, Tensor, Tensor])),
      }),
      (r) => tokenAt(r.whole.output, 0),
    );
    await expectAllClose(fromZeros.output, tokenAt(whole.output, 0), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([c, first, fromZeros, whole]);
  });

  it('frees every intermediate', async () => {
    const c = makeCase(1, 2, 5, 4, 4, 14);
    const [q, k, v, beta, g] = [c.q, c.k, c.v, c.beta, c.g].map((x) => tf.squeeze(slice3(x, 0, 1), [2])) as [
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
    ];
    await warmUpWebGPU(() => [
      efla(c.q, c.k, c.v, c.beta, { chunkSize: 2, g: c.g, initialState: c.state }),
      efla(c.q, c.k, c.v, c.beta, { mode: 'recurrent' }),
      eflaStep(q, k, v, beta, { initialState: c.state, g }),
    ]);
    await expectNoLeaks(() => efla(c.q, c.k, c.v, c.beta, { chunkSize: 2, g: c.g, initialState: c.state }));
    await expectNoLeaks(() => efla(c.q, c.k, c.v, c.beta, { mode: 'recurrent' }));
    await expectNoLeaks(() => eflaStep(q, k, v, beta, { initialState: c.state, g }));
    tf.dispose([c, q, k, v, beta, g]);
  });
});

describe('efla gradients', () => {
  it('tf.grad through α and the chunked form matches finite differences', async () => {
    const c = makeCase(1, 1, 4, 3, 2, 50);
    const w = philoxUniform([1, 1, 4, 2], { seed: 51, low: -1, high: 1 });
    const f = (k: Tensor, beta: Tensor): Tensor =>
      tf.tidy(() => {
        const r = efla(c.q, k, c.v, beta, { chunkSize: 2 });
        return tf.sum(tf.mul(r.output, w));
      });
    const args = [c.k, c.beta];
    const grads = tf.grads(f)(args);
    const eps = 1e-2;
    for (let a = 0; a < args.length; a++) {
      const x = args[a] as Tensor;
      const values = (await x.data()) as Float32Array;
      const analytic = (await (grads[a] as Tensor).data()) as Float32Array;
      for (let i = 0; i < values.length; i++) {
        const at = (delta: number) => {
          const moved = values.slice();
          moved[i] = (moved[i] as number) + delta;
          const xs = args.map((t, j) => (j === a ? tf.tensor(moved, x.shape) : t));
          const y = f(xs[0] as Tensor, xs[1] as Tensor);
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
