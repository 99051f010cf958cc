import { philoxUniform, ShapeError, type Tensor, tf, ValueError, DtypeError } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { mamba3, type Mamba3Options, type Mamba3State, mamba3Step, mamba3ZeroState } from '../src/mamba3/index.js';
import { chunkForward } from '../src/mamba3/chunk.js';
import { mamba3ChunkOp, mamba3StepOp } from '../src/mamba3/op.js';
import { recurrentReference } from '../src/mamba3/reference.js';

interface Sizes {
  b: number;
  h: number;
  l: number;
  r: number;
  p: number;
  n: number;
  nr: number;
}

/** Seeded inputs in the ranges the layer produces: Δ ∈ [0.05, 0.35], A ∈ [−1.7, −0.2], λ ∈ [0, 1]. */
function inputs(s: Sizes, seed: number): { x: Tensor } & Mamba3Options {
  return tf.tidy(() => {
    const u = (shape: number[], i: number) => philoxUniform(shape, { seed: seed * 100 + i });
    const sym = (shape: number[], i: number, scale: number) => tf.mul(tf.sub(u(shape, i), 0.5), 2 * scale);
    const tokens = [s.b, s.h, s.l];
    return {
      x: sym([...tokens, s.r * s.p], 1, 1),
      dt: tf.add(tf.mul(u(tokens, 2), 0.3), 0.05),
      A: tf.neg(tf.add(tf.mul(u(tokens, 3), 1.5), 0.2)),
      B: sym([...tokens, s.r * s.n], 4, 1),
      C: sym([...tokens, s.r * s.n], 5, 1),
      lambda: u(tokens, 6),
      theta: sym([...tokens, s.nr], 7, 2),
      D: u([s.h], 8),
      rank: s.r,
    };
  });
}

function randomState(s: Sizes, seed: number): Mamba3State {
  return tf.tidy(() => {
    const sym = (shape: number[], i: number) => tf.sub(philoxUniform(shape, { seed: seed * 100 + 50 + i }), 0.5);
    return {
      ssm: sym([s.b, s.h, s.p, s.n], 1),
      k: sym([s.b, s.h, s.r * s.n], 2),
      v: sym([s.b, s.h, s.r * s.p], 3),
      angle: tf.mul(philoxUniform([s.b, s.h, s.nr], { seed: seed * 100 + 60 }), 6),
    };
  });
}

/**
 * Recorded with a line-by-line numpy port of mamba_ssm's `mamba3_siso_step_ref` (tests/ops/triton/test_mamba3_siso.py,
 * state-spaces/mamba e9594ce): b = 1, s = 3, h = 2, N = 4, P = 2, one angle; inputs in its layout (Q, K: [b, s, h, N],
 * ADT = A·DT, Trap as logits, biases [h, N], Angles raw), y: [b, s, h, P], S: [b, h, P, N].
 */
const SISO_REFERENCE = {
  Q: [
    0.00123, 0.298746, -0.274138, -0.890592, -0.454671, -0.991647, 0.060144, 1.340215, -0.492207, -0.620475, 0.489842, 0.356887, 0.105414,
    -0.930468, -0.029252, 0.695303, -1.344215, -0.457616, -1.901223, -1.289538, -1.841735, -0.235091, -1.267446, 0.271264,
  ],
  K: [
    0.156751, -0.186931, -2.51676, -0.538693, -0.048501, 0.113309, -1.530136, -0.477753, -0.978519, -0.808837, 1.060899, -0.807535,
    -0.032522, 0.88439, -0.5836, -0.111702, 0.110464, 0.063782, -1.225056, 0.07614, 1.358823, -1.547145, 0.859383, 0.119354,
  ],
  V: [-0.64147, 2.000417, 0.76226, -1.199289, 0.074516, 0.57669, -0.188782, 0.68291, -0.066517, 0.667248, 1.438523, -0.675662],
  DT: [0.059213, 0.030845, 0.055003, 0.015075, 0.027513, 0.040103],
  A: [-0.296704, -1.167828, -0.415004, -0.871765, -0.50042, -1.074077],
  Trap: [-0.46317, -0.097287, 1.257015, 0.689404, -0.327213, -0.368576],
  Qb: [-0.250195, 1.523529, -0.428025, -0.30368, 0.352589, -0.12077, -0.197284, -1.114067],
  Kb: [-0.011521, -0.443581, 1.166128, 0.653089, -0.024144, 0.668381, -0.33987, 1.052126],
  Angles: [-0.010799, 1.166765, -2.581786, 0.69336, -3.376408, -4.070658],
  D: [-0.304477, -0.899928],
  y: [0.200791, -0.626163, -0.68962, 1.085001, -0.004046, -0.236889, 0.161061, -0.608876, -0.029532, -0.190121, -1.337053, 0.590837],
  S: [
    -0.005549, 0.013764, 0.036417, -0.00508, -0.006338, -0.075068, -0.067428, 0.026921, 0.030063, -0.017052, -0.016909, 0.032407, -0.015945,
    0.022818, 0.028103, -0.008243,
  ],
};

/**
 * As SISO_REFERENCE, from `mamba3_MIMO_step_ref` (tests/ops/tilelang/test_mamba3_mimo.py): b = 1, s = 3, R = 2, one
 * B/C group, h = 1, N = 2, P = 2, no Z; y = Σ_r (S q̃_r + D v_r) ⊙ MIMO_O[h, r].
 */
const MIMO_REFERENCE = {
  Q: [0.164053, 2.244757, -0.831723, -0.623944, 0.205404, 0.493013, -0.176406, -0.20593, 0.702463, 0.519908, -1.033676, -0.079181],
  K: [0.035287, -1.054485, 0.259839, -0.857956, 0.972067, 0.192746, 0.089306, -0.591028, -0.11861, -1.997746, -1.131407, 0.36284],
  V: [-2.128567, 0.846609, -1.746096, 0.756739, -0.845497, 0.778991],
  DT: [0.350199, 0.076143, 0.825461],
  A: [-1.180395, -0.715523, -0.721166],
  Trap: [-0.159867, -0.975152, 1.098587],
  Qb: [-0.542892, -0.05119, -0.793296, -0.626073],
  Kb: [-1.277725, 1.257069, -0.154088, 0.965922],
  MV: [0.006662, -0.347202, -0.163343, -0.280116],
  MO: [0.00398, -0.187633, -0.149961, -0.689287],
  Angles: [-0.806846, 1.654058, -0.671233],
  D: [-1.054094],
  y: [0.058238, -0.171334, 0.047684, -0.178211, 0.002427, 0.379735],
  S: [0.161868, 0.051964, -0.226803, -0.429269],
};

function disposeAll(...items: object[]): void {
  for (const item of items) tf.dispose(Object.values(item).filter((v): v is Tensor => v instanceof tf.Tensor));
}

async function expectStatesClose(a: Mamba3State, b: Mamba3State, atol: number): Promise<void> {
  await expectAllClose(a.ssm, b.ssm, { atol, rtol: atol, message: 'ssm' });
  await expectAllClose(a.k, b.k, { atol, rtol: atol, message: 'k' });
  await expectAllClose(a.v, b.v, { atol, rtol: atol, message: 'v' });
  // compare angles on the circle: both sides wrap to [0, 2π), but at different points of the sum
  await expectAllClose(tf.cos(a.angle), tf.cos(b.angle), { atol, message: 'cos angle' });
  await expectAllClose(tf.sin(a.angle), tf.sin(b.angle), { atol, message: 'sin angle' });
}

/** y_t of the rotation-free Mamba-2 recurrence (Dao & Gu 2024): S_t = e^{A_hΔ_t} S_{t−1} + Δ_t x_t B_tᵀ, y_t = S_t C_t + D x_t. */
function mamba2Recurrence(
  x: Float32Array,
  dt: Float32Array,
  a: Float32Array,
  bk: Float32Array,
  cq: Float32Array,
  d: Float32Array,
  s: Sizes,
): number[] {
  const { b: nb, h: nh, l, p: np, n: nn } = s;
  const y = new Array<number>(nb * nh * l * np).fill(0);
  for (let b = 0; b < nb; b++) {
    for (let h = 0; h < nh; h++) {
      const state = new Float64Array(np * nn);
      for (let t = 0; t < l; t++) {
        const tok = (b * nh + h) * l + t;
        const delta = dt[tok] as number;
        const decay = Math.exp((a[h] as number) * delta);
        for (let p = 0; p < np; p++) {
          let out = 0;
          for (let n = 0; n < nn; n++) {
            const e = p * nn + n;
            state[e] = decay * (state[e] as number) + delta * (x[tok * np + p] as number) * (bk[tok * nn + n] as number);
            out += (state[e] as number) * (cq[tok * nn + n] as number);
          }
          y[tok * np + p] = out + (d[h] as number) * (x[tok * np + p] as number);
        }
      }
    }
  }
  return y;
}

describeBackends('mamba3', (backend) => {
  const cases: [string, Sizes, number][] = [
    ['SISO, L not a multiple of the chunk', { b: 2, h: 2, l: 11, r: 1, p: 3, n: 6, nr: 2 }, 4],
    ['MIMO rank 2, every pair rotated', { b: 1, h: 2, l: 9, r: 2, p: 2, n: 4, nr: 2 }, 4],
    ['one chunk longer than L', { b: 1, h: 1, l: 5, r: 3, p: 2, n: 2, nr: 1 }, 64],
  ];
  for (const [name, sizes, chunkSize] of cases) {
    it(`chunk agrees with the recurrence to 1e-4 (${name})`, async () => {
      const { x, ...o } = inputs(sizes, 1);
      const initialState = randomState(sizes, 2);
      const chunk = mamba3(x, { ...o, chunkSize, initialState });
      const rec = mamba3(x, { ...o, mode: 'recurrent', initialState });
      await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectStatesClose(chunk.finalState, rec.finalState, 1e-4);
      disposeAll(o, initialState, chunk.finalState, rec.finalState);
      tf.dispose([x, chunk.output, rec.output]);
    });
  }

  it("matches mamba_ssm's SISO and MIMO step references on recorded vectors", async () => {
    const t = (values: number[], shape: number[]) => tf.tensor(values, shape);
    const s = SISO_REFERENCE;
    const toHeads = (u: Tensor) => tf.transpose(u, [0, 2, 1, 3]);
    const siso = {
      dt: t(s.DT, [1, 2, 3]),
      A: t(s.A, [1, 2, 3]),
      lambda: tf.sigmoid(t(s.Trap, [1, 2, 3])),
      C: toHeads(tf.add(t(s.Q, [1, 3, 2, 4]), t(s.Qb, [2, 4]))),
      B: toHeads(tf.add(t(s.K, [1, 3, 2, 4]), t(s.Kb, [2, 4]))),
      theta: toHeads(t(s.Angles, [1, 3, 2, 1])),
      D: t(s.D, [2]),
    };
    const xs = toHeads(t(s.V, [1, 3, 2, 2]));
    const m = MIMO_REFERENCE;
    // Q, K: [b, s, R, 1, N] plus bias [h, R, N] → [b, h, s, R·N]; x: V ⊙ MIMO_V → [b, h, s, R·P]
    const keys = (u: number[], bias: number[]) => tf.reshape(tf.add(t(u, [1, 3, 2, 2]), t(bias, [2, 2])), [1, 1, 3, 4]);
    const mimo = {
      dt: t(m.DT, [1, 1, 3]),
      A: t(m.A, [1, 1, 3]),
      lambda: tf.sigmoid(t(m.Trap, [1, 1, 3])),
      C: keys(m.Q, m.Qb),
      B: keys(m.K, m.Kb),
      theta: t(m.Angles, [1, 1, 3, 1]),
      D: t(m.D, [1]),
      rank: 2,
    };
    const xm = tf.reshape(tf.mul(t(m.V, [1, 3, 1, 2]), t(m.MV, [2, 2])), [1, 1, 3, 4]);
    for (const mode of ['chunk', 'recurrent'] as const) {
      const a = mamba3(xs, { ...siso, mode, chunkSize: 2 });
      await expectAllClose(a.output, toHeads(t(s.y, [1, 3, 2, 2])), { atol: 1e-5, rtol: 1e-5, message: `SISO y (${mode})` });
      await expectAllClose(a.finalState.ssm, s.S, { atol: 1e-5, rtol: 1e-5, message: `SISO S (${mode})` });
      const b = mamba3(xm, { ...mimo, mode, chunkSize: 2 });
      const y = tf.sum(tf.mul(tf.reshape(b.output, [1, 3, 2, 2]), t(m.MO, [2, 2])), 2);
      await expectAllClose(y, m.y, { atol: 1e-5, rtol: 1e-5, message: `MIMO y (${mode})` });
      await expectAllClose(b.finalState.ssm, m.S, { atol: 1e-5, rtol: 1e-5, message: `MIMO S (${mode})` });
      disposeAll(a.finalState, b.finalState);
      tf.dispose([a.output, b.output, y]);
    }
    disposeAll(siso, mimo);
    tf.dispose([xs, xm]);
  });

  it('splitting a sequence and carrying the state equals one call', async () => {
    const sizes = { b: 1, h: 2, l: 10, r: 2, p: 3, n: 4, nr: 1 };
    const { x, ...o } = inputs(sizes, 3);
    const whole = mamba3(x, { ...o, chunkSize: 3 });
    const part = (t: Tensor, start: number, len: number) => tf.slice(t, [0, 0, start], [-1, -1, len]);
    const half = (start: number, len: number) => ({
      dt: part(o.dt, start, len),
      A: part(o.A, start, len),
      B: part(o.B, start, len),
      C: part(o.C, start, len),
      lambda: part(o.lambda, start, len),
      theta: part(o.theta, start, len),
    });
    const h1 = half(0, 4);
    const h2 = half(4, 6);
    const x1 = part(x, 0, 4);
    const x2 = part(x, 4, 6);
    const first = mamba3(x1, { ...h1, D: o.D, rank: 2, chunkSize: 3 });
    const second = mamba3(x2, { ...h2, D: o.D, rank: 2, chunkSize: 3, initialState: first.finalState });
    await expectAllClose(tf.concat([first.output, second.output], 2), whole.output, { atol: 1e-5, rtol: 1e-4 });
    await expectStatesClose(second.finalState, whole.finalState, 1e-5);
    disposeAll(o, h1, h2, first.finalState, second.finalState, whole.finalState);
    tf.dispose([x, x1, x2, first.output, second.output, whole.output]);
  });

  it('matches the hand-worked formulas for L = 1 and L = 2', async () => {
    // one head, P = 1, N = 2 (one rotated pair): y_0 = (λ_0Δ_0 B_0·C_0 + D) x_0 (a common rotation keeps the dot product);
    // y_1 = e^{A_1Δ_1}(λ_0Δ_0 + (1−λ_1)Δ_1) (B_0 · R(θ_1 − θ_0) C_1) x_0 + (λ_1Δ_1 B_1·C_1 + D) x_1, θ_1 − θ_0 = π tanh(theta_1) Δ_1
    const xs = [0.7, -1.3];
    const dts = [0.2, 0.5];
    const as = [-0.4, -1.1];
    const bs = [
      [0.3, -0.8],
      [1.2, 0.4],
    ];
    const cs = [
      [-0.5, 0.9],
      [0.6, 0.2],
    ];
    const lams = [0.3, 0.8];
    const thetas = [0.4, -1.5];
    const d = 0.25;
    const dot = (u: number[], w: number[]) => (u[0] as number) * (w[0] as number) + (u[1] as number) * (w[1] as number);
    const y0 = ((lams[0] as number) * (dts[0] as number) * dot(bs[0] as number[], cs[0] as number[]) + d) * (xs[0] as number);
    const delta = Math.PI * Math.tanh(thetas[1] as number) * (dts[1] as number);
    const c1 = cs[1] as number[];
    const rotated = [
      (c1[0] as number) * Math.cos(delta) - (c1[1] as number) * Math.sin(delta),
      (c1[0] as number) * Math.sin(delta) + (c1[1] as number) * Math.cos(delta),
    ];
    const weight0 =
      Math.exp((as[1] as number) * (dts[1] as number)) *
      ((lams[0] as number) * (dts[0] as number) + (1 - (lams[1] as number)) * (dts[1] as number));
    const y1 =
      weight0 * dot(bs[0] as number[], rotated) * (xs[0] as number) +
      ((lams[1] as number) * (dts[1] as number) * dot(bs[1] as number[], c1) + d) * (xs[1] as number);
    const o = {
      dt: tf.tensor(dts, [1, 1, 2]),
      A: tf.tensor(as, [1, 1, 2]),
      B: tf.tensor(bs.flat(), [1, 1, 2, 2]),
      C: tf.tensor(cs.flat(), [1, 1, 2, 2]),
      lambda: tf.tensor(lams, [1, 1, 2]),
      theta: tf.tensor(thetas, [1, 1, 2, 1]),
      D: tf.tensor1d([d]),
    };
    const x = tf.tensor(xs, [1, 1, 2, 1]);
    for (const mode of ['chunk', 'recurrent'] as const) {
      const two = mamba3(x, { ...o, mode });
      await expectAllClose(two.output, [y0, y1], { atol: 1e-6, rtol: 1e-5, message: mode });
      const x1 = tf.slice(x, [0, 0, 0], [-1, -1, 1]);
      const first = (t: Tensor) => tf.slice(t, [0, 0, 0], [-1, -1, 1]);
      const o1 = { dt: first(o.dt), A: first(o.A), B: first(o.B), C: first(o.C), lambda: first(o.lambda), theta: first(o.theta), D: o.D };
      const one = mamba3(x1, { ...o1, mode });
      expect(one.output.shape).toEqual([1, 1, 1, 1]);
      await expectAllClose(one.output, [y0], { atol: 1e-6, rtol: 1e-5 });
      disposeAll(two.finalState, one.finalState, { ...o1, D: undefined });
      tf.dispose([two.output, one.output, x1]);
    }
    disposeAll(o);
    x.dispose();
  });

  it('with λ = 1 and no rotation reproduces the Mamba-2 recurrence (A per head)', async () => {
    const sizes = { b: 2, h: 2, l: 7, r: 1, p: 3, n: 4, nr: 2 };
    const { x, ...o } = inputs(sizes, 4);
    const A = tf.tensor1d([-0.5, -1.5]);
    const lambda = tf.onesLike(o.lambda);
    const theta = tf.zerosLike(o.theta);
    const expected = mamba2Recurrence(
      (await x.data()) as Float32Array,
      (await o.dt.data()) as Float32Array,
      (await A.data()) as Float32Array,
      (await o.B.data()) as Float32Array,
      (await o.C.data()) as Float32Array,
      (await (o.D as Tensor).data()) as Float32Array,
      sizes,
    );
    for (const mode of ['chunk', 'recurrent'] as const) {
      const out = mamba3(x, { ...o, A, lambda, theta, mode, chunkSize: 3 });
      await expectAllClose(out.output, expected, { atol: 1e-5, rtol: 1e-4, message: mode });
      disposeAll(out.finalState);
      out.output.dispose();
    }
    disposeAll(o);
    tf.dispose([x, A, lambda, theta]);
  });

  it('mamba3Step over a sequence reproduces mamba3', async () => {
    const sizes = { b: 2, h: 2, l: 5, r: 2, p: 3, n: 4, nr: 1 };
    const { x, ...o } = inputs(sizes, 5);
    const initialState = randomState(sizes, 6);
    const full = mamba3(x, { ...o, initialState, mode: 'recurrent' });
    let state: Mamba3State = initialState;
    const ys: Tensor[] = [];
    const at = (t: Tensor, i: number) => tf.squeeze(tf.slice(t, [0, 0, i], [-1, -1, 1]), [2]);
    for (let i = 0; i < sizes.l; i++) {
      const step = tf.tidy(() => {
        const r = mamba3Step(
          at(x, i),
          { dt: at(o.dt, i), A: at(o.A, i), B: at(o.B, i), C: at(o.C, i), lambda: at(o.lambda, i), theta: at(o.theta, i), D: o.D, rank: 2 },
          state,
        );
        return { y: r.output, ...r.state };
      });
      if (state !== initialState) disposeAll(state);
      state = { ssm: step.ssm, k: step.k, v: step.v, angle: step.angle };
      ys.push(step.y);
    }
    await expectAllClose(tf.stack(ys, 2), full.output, { atol: 1e-5, rtol: 1e-4 });
    await expectStatesClose(state, full.finalState, 1e-5);
    disposeAll(o, initialState, state, full.finalState);
    tf.dispose([x, full.output, ...ys]);
  });

  it('differentiates through the chunked form like the recurrence', async () => {
    const sizes = { b: 1, h: 2, l: 6, r: 2, p: 2, n: 4, nr: 2 };
    const { x, ...o } = inputs(sizes, 7);
    const s0 = randomState(sizes, 8);
    const w = philoxUniform([1, 2, 6, 4], { seed: 9 });
    const args = [x, o.dt, o.A, o.B, o.C, o.lambda, o.theta, o.D as Tensor, s0.ssm, s0.k, s0.v, s0.angle];
    const loss =
      (mode: 'chunk' | 'recurrent') =>
      (...a: Tensor[]) => {
        const [xx, dt, A, B, C, lambda, theta, D, ssm, k, v, angle] = a as [
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
        ];
        const out = mamba3(xx, { dt, A, B, C, lambda, theta, D, rank: 2, mode, chunkSize: 4, initialState: { ssm, k, v, angle } });
        return tf.addN([tf.sum(tf.mul(out.output, w)), tf.sum(tf.square(out.finalState.ssm)), tf.sum(out.finalState.k)]);
      };
    const gChunk = tf.grads(loss('chunk'))(args);
    const gRec = tf.grads(loss('recurrent'))(args);
    for (let i = 0; i < args.length; i++)
      await expectAllClose(gChunk[i] as Tensor, gRec[i] as Tensor, { atol: 1e-4, rtol: 1e-3, message: `input ${i}` });
    disposeAll(o, s0);
    tf.dispose([x, w, ...gChunk, ...gRec]);
  });

  it('leaks no tensors (chunk, recurrent, step, gradient)', async () => {
    const sizes = { b: 1, h: 1, l: 4, r: 1, p: 2, n: 2, nr: 1 };
    const { x, ...o } = inputs(sizes, 10);
    await expectNoLeaks(() => {
      const r = mamba3(x, o);
      return [r.output, r.finalState.ssm, r.finalState.k, r.finalState.v, r.finalState.angle];
    });
    await expectNoLeaks(() => {
      const r = mamba3(x, { ...o, mode: 'recurrent' });
      return [r.output, r.finalState.ssm, r.finalState.k, r.finalState.v, r.finalState.angle];
    });
    await expectNoLeaks(() => tf.grad((t: Tensor) => tf.sum(mamba3(t, o).output))(x));
    const at = (t: Tensor) => tf.squeeze(tf.slice(t, [0, 0, 0], [-1, -1, 1]), [2]);
    const stepIn = { dt: at(o.dt), A: at(o.A), B: at(o.B), C: at(o.C), lambda: at(o.lambda), theta: at(o.theta), D: o.D };
    const xt = at(x);
    await expectNoLeaks(() => {
      const r = mamba3Step(xt, stepIn);
      return [r.output, r.state.ssm, r.state.k, r.state.v, r.state.angle];
    });
    disposeAll(o, stepIn);
    tf.dispose([x, xt]);
  });

  if (backend === 'webgpu') {
    const kernelCases: [string, Sizes][] = [
      ['several 64-token tiles', { b: 1, h: 2, l: 70, r: 1, p: 4, n: 6, nr: 2 }],
      ['rank 8 (8-token tiles), batch 2', { b: 2, h: 1, l: 11, r: 8, p: 3, n: 4, nr: 1 }],
      ['P and N wider than one 64-wide tile', { b: 1, h: 1, l: 5, r: 1, p: 66, n: 66, nr: 20 }],
      ['rank 16: eighteen 4-token tiles, more than one 16-chunk batch of the state pass', { b: 1, h: 1, l: 70, r: 16, p: 2, n: 2, nr: 1 }],
      ['rank 64: 260 one-token tiles, more than one 256-chunk pass of the angle scan', { b: 1, h: 1, l: 260, r: 64, p: 1, n: 2, nr: 1 }],
    ];
    for (const [name, sizes] of kernelCases) {
      it(`runs the WGSL chunk kernel, equal to the tfjs chunked form (${name})`, async () => {
        expect(mamba3ChunkOp.hasKernel()).toBe(true);
        const { x, ...o } = inputs(sizes, 11);
        const s0 = randomState(sizes, 12);
        const ours = mamba3(x, { ...o, initialState: s0 });
        const ref = tf.tidy(() => {
          const t = { x, dt: o.dt, A: o.A, B: o.B, C: o.C, lambda: o.lambda, theta: o.theta, D: o.D as Tensor, ...s0 };
          const out = chunkForward(t, { rank: sizes.r, chunkSize: 16 });
          // the per-token oracle issues ~30 ops a token; the long case relies on chunkForward, checked against it above
          const recY = sizes.l <= 100 ? recurrentReference(t, sizes.r).y : undefined;
          return { y: out.y, ssm: out.ssm, k: out.k, angle: out.angle, recY };
        });
        await expectAllClose(ours.output, ref.y, { atol: 1e-4, rtol: 1e-4, message: 'y' });
        if (ref.recY) await expectAllClose(ours.output, ref.recY, { atol: 1e-4, rtol: 1e-4, message: 'y vs recurrence' });
        await expectAllClose(ours.finalState.ssm, ref.ssm, { atol: 1e-4, rtol: 1e-4, message: 'ssm' });
        await expectAllClose(ours.finalState.k, ref.k, { atol: 1e-4, rtol: 1e-4, message: 'k' });
        await expectAllClose(tf.cos(ours.finalState.angle), tf.cos(ref.angle), { atol: 1e-4, message: 'angle' });
        disposeAll(o, s0, ours.finalState, ref);
        tf.dispose([x, ours.output]);
      });
    }

    it('runs the WGSL step kernel, equal to the tfjs step', async () => {
      expect(mamba3StepOp.hasKernel()).toBe(true);
      const sizes = { b: 3, h: 2, l: 1, r: 2, p: 5, n: 6, nr: 2 };
      const { x, ...o } = inputs(sizes, 13);
      const s0 = randomState(sizes, 14);
      const at = (t: Tensor) => tf.squeeze(t, [2]);
      const t = {
        x: at(x),
        dt: at(o.dt),
        A: at(o.A),
        B: at(o.B),
        C: at(o.C),
        lambda: at(o.lambda),
        theta: at(o.theta),
        D: o.D as Tensor,
        ...s0,
      };
      const ours = mamba3StepOp(t, { rank: 2, chunkSize: 1 });
      const ref = mamba3StepOp.reference(t, { rank: 2, chunkSize: 1 });
      await expectAllClose(ours, ref, { atol: 1e-5, rtol: 1e-4 });
      disposeAll(o, s0, t);
      tf.dispose([x, ours, ref]);
    });

    it('routes the gradient of the WGSL step through the tfjs step', async () => {
      const sizes = { b: 2, h: 2, l: 1, r: 2, p: 3, n: 4, nr: 2 };
      const { x, ...o } = inputs(sizes, 21);
      const s0 = randomState(sizes, 22);
      const at = (t: Tensor) => tf.squeeze(t, [2]);
      const t = {
        x: at(x),
        dt: at(o.dt),
        A: at(o.A),
        B: at(o.B),
        C: at(o.C),
        lambda: at(o.lambda),
        theta: at(o.theta),
        D: o.D as Tensor,
        ...s0,
      };
      const w = philoxUniform([2, 2, 6], { seed: 23 });
      const f = (op: typeof mamba3StepOp | typeof mamba3StepOp.reference) => (xx: Tensor, C: Tensor, ssm: Tensor) =>
        tf.sum(tf.mul(tf.slice(op({ ...t, x: xx, C, ssm }, { rank: 2, chunkSize: 1 }), [0, 0, 0], [-1, -1, 6]), w));
      const ours = tf.grads(f(mamba3StepOp))([t.x, t.C, t.ssm]);
      const ref = tf.grads(f(mamba3StepOp.reference))([t.x, t.C, t.ssm]);
      for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as Tensor, ref[i] as Tensor, { atol: 1e-5, rtol: 1e-4 });
      disposeAll(o, s0, t);
      tf.dispose([x, w, ...ours, ...ref]);
    });

    it('routes the gradient of the WGSL forward through the tfjs chunked form', async () => {
      const sizes = { b: 1, h: 1, l: 6, r: 1, p: 2, n: 4, nr: 1 };
      const { x, ...o } = inputs(sizes, 15);
      const w = philoxUniform([1, 1, 6, 2], { seed: 16 });
      const f = (mode: 'chunk' | 'recurrent') => (xx: Tensor, B: Tensor, theta: Tensor) =>
        tf.sum(tf.mul(mamba3(xx, { ...o, B, theta, mode }).output, w));
      const ours = tf.grads(f('chunk'))([x, o.B, o.theta]);
      const ref = tf.grads(f('recurrent'))([x, o.B, o.theta]);
      for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as Tensor, ref[i] as Tensor, { atol: 1e-4, rtol: 1e-3 });
      disposeAll(o);
      tf.dispose([x, w, ...ours, ...ref]);
    });
  }

  if (backend === 'cpu') {
    it('has gradients that match central finite differences', async () => {
      const sizes = { b: 1, h: 1, l: 3, r: 2, p: 2, n: 2, nr: 1 };
      const { x, ...o } = inputs(sizes, 17);
      const s0 = randomState(sizes, 18);
      const w = philoxUniform([1, 1, 3, 4], { seed: 19 });
      const names = ['x', 'dt', 'A', 'B', 'C', 'lambda', 'theta', 'D', 'ssm', 'k', 'v', 'angle'] as const;
      const args = [x, o.dt, o.A, o.B, o.C, o.lambda, o.theta, o.D as Tensor, s0.ssm, s0.k, s0.v, s0.angle];
      const f = (...a: Tensor[]) => {
        const [xx, dt, A, B, C, lambda, theta, D, ssm, k, v, angle] = a as [
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
          Tensor,
        ];
        const out = mamba3(xx, { dt, A, B, C, lambda, theta, D, rank: 2, chunkSize: 2, initialState: { ssm, k, v, angle } });
        return tf.addN([tf.sum(tf.mul(out.output, w)), tf.sum(tf.square(out.finalState.ssm)), tf.sum(tf.mul(out.finalState.k, 0.5))]);
      };
      const grads = tf.grads(f)(args);
      const eps = 1e-2;
      for (let i = 0; i < args.length; i++) {
        const base = (await (args[i] as Tensor).data()) as Float32Array;
        const numeric: number[] = [];
        for (let j = 0; j < base.length; j++) {
          const shifted = (delta: number) => {
            const values = base.slice();
            values[j] = (values[j] as number) + delta;
            const a = args.slice();
            a[i] = tf.tensor(values, (args[i] as Tensor).shape);
            const y = f(...a).dataSync()[0] as number;
            (a[i] as Tensor).dispose();
            return y;
          };
          numeric.push((shifted(eps) - shifted(-eps)) / (2 * eps));
        }
        await expectAllClose(grads[i] as Tensor, numeric, { atol: 2e-3, rtol: 1e-2, message: names[i] });
      }
      disposeAll(o, s0);
      tf.dispose([x, w, ...grads]);
    });

    it('rejects bad input with the argument named', () => {
      const sizes = { b: 1, h: 2, l: 4, r: 1, p: 4, n: 4, nr: 1 };
      const { x, ...o } = inputs(sizes, 20);
      expect(() => mamba3(x, { ...o, rank: 3 })).toThrow(ShapeError);
      expect(() => mamba3(x, { ...o, rank: 3 })).toThrow(/rank: expected a divisor of x's last dimension R·P = 4, received 3/);
      const x6 = tf.zeros([1, 2, 4, 6]);
      expect(() => mamba3(x6, { ...o, rank: 3 })).toThrow(/rank: expected a divisor of B's last dimension R·N = 4, received 3/);
      expect(() => mamba3(x, { ...o, rank: 0 })).toThrow(ValueError);
      expect(() => mamba3(x, { ...o, rank: 1.5 })).toThrow(/rank: expected an integer/);
      const short = tf.zeros([1, 2, 3]);
      expect(() => mamba3(x, { ...o, dt: short })).toThrow(/dt: expected dimension 2 \(L\) to be 4/);
      expect(() => mamba3(x, { ...o, lambda: tf.zeros([1, 3, 4]) })).toThrow(/lambda: expected dimension 1 \(H\) to be 2/);
      expect(() => mamba3(x, { ...o, A: tf.zeros([3]) })).toThrow(/A: expected dimension 0 \(H\) to be 2/);
      expect(() => mamba3(x, { ...o, C: tf.zeros([1, 2, 4, 6]) })).toThrow(/C: expected dimension 3 \(RN\) to be 4/);
      expect(() => mamba3(x, { ...o, theta: tf.zeros([1, 2, 4, 3]) })).toThrow(/theta: expected 1 ≤ Nr ≤ N\/2 = 2/);
      expect(() => mamba3(x, { ...o, B: tf.zeros([1, 2, 4, 3]), C: tf.zeros([1, 2, 4, 3]) })).toThrow(/B: expected an even state size/);
      const empty = tf.zeros([1, 2, 4, 0]);
      expect(() => mamba3(empty, o)).toThrow(/x: expected a non-empty tensor, received shape \[1, 2, 4, 0\]/);
      expect(() => mamba3(x, { ...o, chunkSize: 0 })).toThrow(ValueError);
      expect(() => mamba3(x, { ...o, chunkSize: -4 })).toThrow(/chunkSize: expected an integer ≥ 1, received -4/);
      expect(() => mamba3(x, { ...o, mode: 'parallel' as 'chunk' })).toThrow(/mode: expected 'chunk' or 'recurrent'/);
      expect(() => mamba3(tf.zeros([1, 2, 4, 4], 'int32'), o)).toThrow(DtypeError);
      const state = mamba3ZeroState({ batch: 1, heads: 2, rank: 1, headDim: 4, stateDim: 2, angles: 1 });
      expect(() => mamba3(x, { ...o, initialState: state })).toThrow(/initialState.ssm: expected dimension 3 to be 4/);
      const at = (t: Tensor) => tf.squeeze(tf.slice(t, [0, 0, 0], [-1, -1, 1]), [2]);
      expect(() =>
        mamba3Step(at(x), { ...o, dt: o.dt, A: at(o.A), B: at(o.B), C: at(o.C), lambda: at(o.lambda), theta: at(o.theta) }),
      ).toThrow(/dt: expected rank 2/);
      disposeAll(o, state);
      tf.dispose([x, x6, short, empty]);
    });
  }
});

describe('mamba3 fallback', () => {
  it('runs the tfjs forms on a backend without a Tessera kernel', () => {
    expect(mamba3ChunkOp.hasKernel('webgl')).toBe(false);
    expect(mamba3StepOp.hasKernel('cpu')).toBe(false);
  });
});

describe('mamba3 non-finite input', () => {
  it('is rejected where the data is host-resident (cpu), naming the argument', () => {
    const l = 3;
    const x = tf.tensor4d([1, Number.NaN, 0, 2, 1, 0], [1, 1, l, 2]);
    const opts = {
      dt: tf.fill([1, 1, l], 0.1),
      A: tf.fill([1, 1, l], -1),
      B: tf.ones([1, 1, l, 2]),
      C: tf.ones([1, 1, l, 2]),
      lambda: tf.fill([1, 1, l], 0.5),
      theta: tf.zeros([1, 1, l, 1]),
    };
    expect(() => mamba3(x, opts)).toThrow(/^x: expected finite values, received NaN at flat index 1/);
    tf.dispose([x, ...Object.values(opts)]);
  });
});
