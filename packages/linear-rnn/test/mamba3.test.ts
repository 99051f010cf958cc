import { philoxUniform, type Tensor, tf, warmUpWebGPU } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { chunkForward } from '../src/mamba3/chunk.js';
import { mamba3, type Mamba3State, mamba3Step, mamba3ZeroState } from '../src/mamba3/index.js';
import { mamba3ChunkFromZeroOp, mamba3ChunkOp, mamba3ChunkPartsOp, mamba3StepOp, mamba3StepPartsOp } from '../src/mamba3/op.js';
import { recurrentReference } from '../src/mamba3/reference.js';
import { type Mamba3Case, mamba3Case, type Mamba3Sizes, mamba3State, mamba3Tensors, stateTensors, warmThenRun } from './cases.js';

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

async function expectStatesClose(a: Mamba3State, b: Mamba3State, atol: number): Promise<void> {
  await expectAllClose(a.ssm, b.ssm, { atol, rtol: atol, message: 'ssm' });
  await expectAllClose(a.k, b.k, { atol, rtol: atol, message: 'k' });
  await expectAllClose(a.v, b.v, { atol, rtol: atol, message: 'v' });
  // compare angles on the circle: both sides wrap to [0, 2π), but at different points of the sum
  await expectAllClose(tf.cos(a.angle), tf.cos(b.angle), { atol, message: 'cos angle' });
  await expectAllClose(tf.sin(a.angle), tf.sin(b.angle), { atol, message: 'sin angle' });
}

/** Tokens [start, start + len) of every per-token tensor of a case (D and rank kept). */
function sliceCase(c: Mamba3Case, start: number, len: number): Mamba3Case {
  const part = (t: Tensor) => tf.slice(t, [0, 0, start], [-1, -1, len]);
  return {
    x: part(c.x),
    dt: part(c.dt),
    A: part(c.A),
    B: part(c.B),
    C: part(c.C),
    opts: { ...c.opts, lambda: part(c.opts.lambda), theta: part(c.opts.theta) },
  };
}

/** Token i of every per-token tensor of a case, without the L axis. */
function tokenCase(c: Mamba3Case, i: number): Mamba3Case {
  const at = (t: Tensor) => tf.squeeze(tf.slice(t, [0, 0, i], [-1, -1, 1]), [2]);
  return {
    x: at(c.x),
    dt: at(c.dt),
    A: at(c.A),
    B: at(c.B),
    C: at(c.C),
    opts: { ...c.opts, lambda: at(c.opts.lambda), theta: at(c.opts.theta) },
  };
}

/** The per-token tensors of a sliced case (its D is the parent's). */
function ownTensors(c: Mamba3Case): Tensor[] {
  return [c.x, c.dt, c.A, c.B, c.C, c.opts.lambda, c.opts.theta];
}

/** y_t of the rotation-free Mamba-2 recurrence (Dao & Gu 2024): S_t = e^{A_hΔ_t} S_{t−1} + Δ_t x_t B_tᵀ, y_t = S_t C_t + D x_t. */
function mamba2Recurrence(
  x: Float32Array,
  dt: Float32Array,
  a: Float32Array,
  bk: Float32Array,
  cq: Float32Array,
  d: Float32Array,
  s: Mamba3Sizes,
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
  const cases: [string, Mamba3Sizes, number][] = [
    ['SISO, L not a multiple of the chunk', { b: 2, h: 2, l: 11, r: 1, p: 3, n: 6, nr: 2 }, 4],
    ['MIMO rank 2, every pair rotated', { b: 1, h: 2, l: 9, r: 2, p: 2, n: 4, nr: 2 }, 4],
    ['one chunk longer than L', { b: 1, h: 1, l: 5, r: 3, p: 2, n: 2, nr: 1 }, 64],
  ];
  for (const [name, sizes, chunkSize] of cases) {
    it(`chunk agrees with the recurrence to 1e-4 (${name})`, async () => {
      const c = mamba3Case(sizes, 1);
      const initialState = mamba3State(sizes, 2);
      const { chunk, rec } = await warmThenRun(() => ({
        chunk: mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, chunkSize, initialState }),
        rec: mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, mode: 'recurrent', initialState }),
      }));
      await expectAllClose(chunk.output, rec.output, { atol: 1e-4, rtol: 1e-4 });
      await expectStatesClose(chunk.finalState, rec.finalState, 1e-4);
      tf.dispose([
        ...mamba3Tensors(c),
        ...stateTensors(initialState),
        chunk.output,
        rec.output,
        ...stateTensors(chunk.finalState),
        ...stateTensors(rec.finalState),
      ]);
    });
  }

  it("matches mamba_ssm's SISO and MIMO step references on recorded vectors", async () => {
    const t = (values: number[], shape: number[]) => tf.tensor(values, shape);
    const s = SISO_REFERENCE;
    const toHeads = (u: Tensor) => tf.transpose(u, [0, 2, 1, 3]);
    // mamba3_siso_combined's Q, K, V, ADT = A·DT, DT, Trap, Q_bias, K_bias, Angles, D in our names: C, B, x, A, dt, λ = σ(Trap)
    const sisoX = toHeads(t(s.V, [1, 3, 2, 2]));
    const sisoDt = t(s.DT, [1, 2, 3]);
    const sisoA = t(s.A, [1, 2, 3]);
    const sisoB = toHeads(tf.add(t(s.K, [1, 3, 2, 4]), t(s.Kb, [2, 4])));
    const sisoC = toHeads(tf.add(t(s.Q, [1, 3, 2, 4]), t(s.Qb, [2, 4])));
    const siso = { lambda: tf.sigmoid(t(s.Trap, [1, 2, 3])), theta: toHeads(t(s.Angles, [1, 3, 2, 1])), D: t(s.D, [2]) };
    const m = MIMO_REFERENCE;
    // Q, K: [b, s, R, 1, N] plus bias [h, R, N] → [b, h, s, R·N]; x: V ⊙ MIMO_V → [b, h, s, R·P]
    const keys = (u: number[], bias: number[]) => tf.reshape(tf.add(t(u, [1, 3, 2, 2]), t(bias, [2, 2])), [1, 1, 3, 4]);
    const mimoX = tf.reshape(tf.mul(t(m.V, [1, 3, 1, 2]), t(m.MV, [2, 2])), [1, 1, 3, 4]);
    const mimoDt = t(m.DT, [1, 1, 3]);
    const mimoA = t(m.A, [1, 1, 3]);
    const mimoB = keys(m.K, m.Kb);
    const mimoC = keys(m.Q, m.Qb);
    const mimo = { lambda: tf.sigmoid(t(m.Trap, [1, 1, 3])), theta: t(m.Angles, [1, 1, 3, 1]), D: t(m.D, [1]), rank: 2 };
    for (const mode of ['chunk', 'recurrent'] as const) {
      const a = mamba3(sisoX, sisoDt, sisoA, sisoB, sisoC, { ...siso, mode, chunkSize: 2 });
      await expectAllClose(a.output, toHeads(t(s.y, [1, 3, 2, 2])), { atol: 1e-5, rtol: 1e-5, message: `SISO y (${mode})` });
      await expectAllClose(a.finalState.ssm, s.S, { atol: 1e-5, rtol: 1e-5, message: `SISO S (${mode})` });
      const b = mamba3(mimoX, mimoDt, mimoA, mimoB, mimoC, { ...mimo, mode, chunkSize: 2 });
      const y = tf.sum(tf.mul(tf.reshape(b.output, [1, 3, 2, 2]), t(m.MO, [2, 2])), 2);
      await expectAllClose(y, m.y, { atol: 1e-5, rtol: 1e-5, message: `MIMO y (${mode})` });
      await expectAllClose(b.finalState.ssm, m.S, { atol: 1e-5, rtol: 1e-5, message: `MIMO S (${mode})` });
      tf.dispose([a.output, b.output, y, ...stateTensors(a.finalState), ...stateTensors(b.finalState)]);
    }
    tf.dispose([sisoX, sisoDt, sisoA, sisoB, sisoC, siso, mimoX, mimoDt, mimoA, mimoB, mimoC, mimo.lambda, mimo.theta, mimo.D]);
  });

  it('splitting a sequence and carrying the state equals one call', async () => {
    const sizes = { b: 1, h: 2, l: 10, r: 2, p: 3, n: 4, nr: 1 };
    const c = mamba3Case(sizes, 3);
    const whole = mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, chunkSize: 3 });
    const h1 = sliceCase(c, 0, 4);
    const h2 = sliceCase(c, 4, 6);
    const first = mamba3(h1.x, h1.dt, h1.A, h1.B, h1.C, { ...h1.opts, chunkSize: 3 });
    const second = mamba3(h2.x, h2.dt, h2.A, h2.B, h2.C, { ...h2.opts, chunkSize: 3, initialState: first.finalState });
    await expectAllClose(tf.concat([first.output, second.output], 2), whole.output, { atol: 1e-5, rtol: 1e-4 });
    await expectStatesClose(second.finalState, whole.finalState, 1e-5);
    tf.dispose([
      ...mamba3Tensors(c),
      ...ownTensors(h1),
      ...ownTensors(h2),
      ...[first, second, whole].flatMap((r) => [r.output, ...stateTensors(r.finalState)]),
    ]);
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
    const c: Mamba3Case = {
      x: tf.tensor(xs, [1, 1, 2, 1]),
      dt: tf.tensor(dts, [1, 1, 2]),
      A: tf.tensor(as, [1, 1, 2]),
      B: tf.tensor(bs.flat(), [1, 1, 2, 2]),
      C: tf.tensor(cs.flat(), [1, 1, 2, 2]),
      opts: { lambda: tf.tensor(lams, [1, 1, 2]), theta: tf.tensor(thetas, [1, 1, 2, 1]), D: tf.tensor1d([d]) },
    };
    for (const mode of ['chunk', 'recurrent'] as const) {
      const two = await warmThenRun(() => mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, mode }));
      await expectAllClose(two.output, [y0, y1], { atol: 1e-6, rtol: 1e-5, message: mode });
      const c0 = sliceCase(c, 0, 1);
      const one = await warmThenRun(() => mamba3(c0.x, c0.dt, c0.A, c0.B, c0.C, { ...c0.opts, mode }));
      expect(one.output.shape).toEqual([1, 1, 1, 1]);
      await expectAllClose(one.output, [y0], { atol: 1e-6, rtol: 1e-5 });
      tf.dispose([...ownTensors(c0), ...[one, two].flatMap((r) => [r.output, ...stateTensors(r.finalState)])]);
    }
    tf.dispose(mamba3Tensors(c));
  });

  it('with λ = 1 and no rotation — the defaults — reproduces the Mamba-2 recurrence (A per head)', async () => {
    const sizes = { b: 2, h: 2, l: 7, r: 1, p: 3, n: 4, nr: 2 };
    const c = mamba3Case(sizes, 4);
    const A = tf.tensor1d([-0.5, -1.5]);
    const lambda = tf.onesLike(c.opts.lambda);
    const theta = tf.zerosLike(c.opts.theta);
    const expected = mamba2Recurrence(
      (await c.x.data()) as Float32Array,
      (await c.dt.data()) as Float32Array,
      (await A.data()) as Float32Array,
      (await c.B.data()) as Float32Array,
      (await c.C.data()) as Float32Array,
      (await c.opts.D.data()) as Float32Array,
      sizes,
    );
    for (const mode of ['chunk', 'recurrent'] as const) {
      const explicit = mamba3(c.x, c.dt, A, c.B, c.C, { lambda, theta, D: c.opts.D, mode, chunkSize: 3 });
      await expectAllClose(explicit.output, expected, { atol: 1e-5, rtol: 1e-4, message: mode });
      // λ and θ left out: the defaults are the Euler rule without rotation (one angle, which stays 0)
      const defaults = mamba3(c.x, c.dt, A, c.B, c.C, { D: c.opts.D, mode, chunkSize: 3 });
      await expectAllClose(defaults.output, expected, { atol: 1e-5, rtol: 1e-4, message: `${mode}, defaults` });
      expect(defaults.finalState.angle.shape).toEqual([2, 2, 1]);
      await expectAllClose(defaults.finalState.angle, tf.zeros([2, 2, 1]), { atol: 0 });
      tf.dispose([...[explicit, defaults].flatMap((r) => [r.output, ...stateTensors(r.finalState)])]);
    }
    tf.dispose([...mamba3Tensors(c), A, lambda, theta]);
  });

  it('mamba3Step over a sequence reproduces mamba3, and starts from zeros without a state', async () => {
    const sizes = { b: 2, h: 2, l: 5, r: 2, p: 3, n: 4, nr: 1 };
    const c = mamba3Case(sizes, 5);
    const initialState = mamba3State(sizes, 6);
    const full = mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, initialState, mode: 'recurrent' });
    let state: Mamba3State = initialState;
    const ys: Tensor[] = [];
    for (let i = 0; i < sizes.l; i++) {
      const step = tf.tidy(() => {
        const t = tokenCase(c, i);
        const r = mamba3Step(t.x, t.dt, t.A, t.B, t.C, { ...t.opts, initialState: state });
        return { y: r.output, ...r.finalState };
      });
      if (state !== initialState) tf.dispose(stateTensors(state));
      state = { ssm: step.ssm, k: step.k, v: step.v, angle: step.angle };
      ys.push(step.y);
    }
    await expectAllClose(tf.stack(ys, 2), full.output, { atol: 1e-5, rtol: 1e-4 });
    await expectStatesClose(state, full.finalState, 1e-5);
    const t0 = tokenCase(c, 0);
    const zero = mamba3ZeroState({ batch: 2, heads: 2, rank: 2, headDim: 3, stateDim: 4, angles: 1 });
    const implicit = mamba3Step(t0.x, t0.dt, t0.A, t0.B, t0.C, t0.opts);
    const explicit = mamba3Step(t0.x, t0.dt, t0.A, t0.B, t0.C, { ...t0.opts, initialState: zero });
    await expectAllClose(implicit.output, explicit.output, { atol: 0, rtol: 0 });
    tf.dispose([
      ...mamba3Tensors(c),
      ...stateTensors(initialState),
      ...stateTensors(state),
      ...stateTensors(zero),
      ...ownTensors(t0),
      ...[full, implicit, explicit].flatMap((r) => [r.output, ...stateTensors(r.finalState)]),
      ...ys,
    ]);
  });

  it('differentiates through the chunked form like the recurrence', async () => {
    const sizes = { b: 1, h: 2, l: 6, r: 2, p: 2, n: 4, nr: 2 };
    const c = mamba3Case(sizes, 7);
    const s0 = mamba3State(sizes, 8);
    const w = philoxUniform([1, 2, 6, 4], { seed: 9 });
    const args = [...mamba3Tensors(c), ...stateTensors(s0)];
    const loss =
      (mode: 'chunk' | 'recurrent') =>
      (...a: Tensor[]) => {
        const [x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle] = a as [
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
        const out = mamba3(x, dt, A, B, C, { lambda, theta, D, rank: 2, mode, chunkSize: 4, initialState: { ssm, k, v, angle } });
        return tf.addN([tf.sum(tf.mul(out.output, w)), tf.sum(tf.square(out.finalState.ssm)), tf.sum(out.finalState.k)]);
      };
    const { gChunk, gRec } = await warmThenRun(() => ({ gChunk: tf.grads(loss('chunk'))(args), gRec: tf.grads(loss('recurrent'))(args) }));
    for (let i = 0; i < args.length; i++)
      await expectAllClose(gChunk[i] as Tensor, gRec[i] as Tensor, { atol: 1e-4, rtol: 1e-3, message: `input ${i}` });
    tf.dispose([...args, w, ...gChunk, ...gRec]);
  });

  it('leaks no tensors (chunk, recurrent, step, gradient, defaults)', async () => {
    const sizes = { b: 1, h: 1, l: 4, r: 1, p: 2, n: 2, nr: 1 };
    const c = mamba3Case(sizes, 10);
    const all = (r: { output: Tensor; finalState: Mamba3State }) => [r.output, ...stateTensors(r.finalState)];
    const t = tokenCase(c, 0);
    await warmUpWebGPU(() => [
      all(mamba3(c.x, c.dt, c.A, c.B, c.C, c.opts)),
      all(mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, mode: 'recurrent' })),
      all(mamba3(c.x, c.dt, c.A, c.B, c.C)),
      tf.grad((x: Tensor) => tf.sum(mamba3(x, c.dt, c.A, c.B, c.C, c.opts).output))(c.x),
      all(mamba3Step(t.x, t.dt, t.A, t.B, t.C, t.opts)),
      all(mamba3Step(t.x, t.dt, t.A, t.B, t.C)),
    ]);
    await expectNoLeaks(() => all(mamba3(c.x, c.dt, c.A, c.B, c.C, c.opts)));
    await expectNoLeaks(() => all(mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, mode: 'recurrent' })));
    await expectNoLeaks(() => all(mamba3(c.x, c.dt, c.A, c.B, c.C)));
    await expectNoLeaks(() => tf.grad((t: Tensor) => tf.sum(mamba3(t, c.dt, c.A, c.B, c.C, c.opts).output))(c.x));
    await expectNoLeaks(() => all(mamba3Step(t.x, t.dt, t.A, t.B, t.C, t.opts)));
    await expectNoLeaks(() => all(mamba3Step(t.x, t.dt, t.A, t.B, t.C)));
    tf.dispose([...mamba3Tensors(c), ...ownTensors(t)]);
  });

  if (backend === 'webgpu') {
    // from a zero state, up to SCAN_MAX_CHUNKS (4) chunks run ChunkScanProgram, longer inputs and every input with a
    // state ChunkLocalProgram and StatePassProgram: each case runs both ways
    const kernelCases: [string, Mamba3Sizes][] = [
      ['several 64-token tiles', { b: 1, h: 2, l: 70, r: 1, p: 4, n: 6, nr: 2 }],
      ['rank 8 (8-token tiles), batch 2', { b: 2, h: 1, l: 11, r: 8, p: 3, n: 4, nr: 1 }],
      ['P and N wider than one 64-wide tile', { b: 1, h: 1, l: 5, r: 1, p: 66, n: 66, nr: 20 }],
      ['rank 4: four 16-token tiles, the longest input the scan program walks', { b: 1, h: 2, l: 62, r: 4, p: 2, n: 4, nr: 2 }],
      ['rank 4: sixteen 16-token tiles', { b: 1, h: 2, l: 250, r: 4, p: 2, n: 4, nr: 2 }],
      ['rank 16: eighteen 4-token tiles, more than one 16-chunk batch of the state pass', { b: 1, h: 1, l: 70, r: 16, p: 2, n: 2, nr: 1 }],
      ['rank 64: 260 one-token tiles', { b: 1, h: 1, l: 260, r: 64, p: 1, n: 2, nr: 1 }],
    ];
    for (const [name, sizes] of kernelCases) {
      for (const withState of [true, false]) {
        it(`runs the WGSL chunk kernel, equal to the tfjs chunked form (${name}, ${withState ? 'a state' : 'from zeros'})`, async () => {
          expect(mamba3ChunkPartsOp.hasKernel()).toBe(true);
          expect(mamba3ChunkFromZeroOp.hasKernel()).toBe(true);
          const c = mamba3Case(sizes, 11);
          const s0 = withState
            ? mamba3State(sizes, 12)
            : mamba3ZeroState({ batch: sizes.b, heads: sizes.h, rank: sizes.r, headDim: sizes.p, stateDim: sizes.n, angles: sizes.nr });
          const { ours, ref } = await warmThenRun(() => ({
            ours: mamba3(c.x, c.dt, c.A, c.B, c.C, withState ? { ...c.opts, initialState: s0 } : c.opts),
            ref: tf.tidy(() => {
              const t = { x: c.x, dt: c.dt, A: c.A, B: c.B, C: c.C, lambda: c.opts.lambda, theta: c.opts.theta, D: c.opts.D, ...s0 };
              const out = chunkForward(t, { rank: sizes.r, chunkSize: 16 });
              // the per-token oracle issues ~30 ops a token; the long cases rely on chunkForward, checked against it above
              const recY = sizes.l <= 100 ? recurrentReference(t, sizes.r).y : undefined;
              return { y: out.y, ssm: out.ssm, k: out.k, angle: out.angle, recY };
            }),
          }));
          await expectAllClose(ours.output, ref.y, { atol: 1e-4, rtol: 1e-4, message: 'y' });
          if (ref.recY) await expectAllClose(ours.output, ref.recY, { atol: 1e-4, rtol: 1e-4, message: 'y vs recurrence' });
          await expectAllClose(ours.finalState.ssm, ref.ssm, { atol: 1e-4, rtol: 1e-4, message: 'ssm' });
          await expectAllClose(ours.finalState.k, ref.k, { atol: 1e-4, rtol: 1e-4, message: 'k' });
          await expectAllClose(tf.cos(ours.finalState.angle), tf.cos(ref.angle), { atol: 1e-4, message: 'cos angle' });
          await expectAllClose(tf.sin(ours.finalState.angle), tf.sin(ref.angle), { atol: 1e-4, message: 'sin angle' });
          tf.dispose([...mamba3Tensors(c), ...stateTensors(s0), ours.output, ...stateTensors(ours.finalState), ref]);
        });
      }
    }

    /** The kernel inputs of token 0 of a case with a state (no L axis). */
    const stepKernelInputs = (sizes: Mamba3Sizes, seed: number) => {
      const c = mamba3Case(sizes, seed);
      const s0 = mamba3State(sizes, seed + 1);
      const t = tokenCase(c, 0);
      const inputs = { x: t.x, dt: t.dt, A: t.A, B: t.B, C: t.C, lambda: t.opts.lambda, theta: t.opts.theta, D: c.opts.D, ...s0 };
      tf.dispose([c.x, c.dt, c.A, c.B, c.C, c.opts.lambda, c.opts.theta]);
      return inputs;
    };

    it('runs the WGSL step kernel, equal to the tfjs step', async () => {
      expect(mamba3StepPartsOp.hasKernel()).toBe(true);
      const t = stepKernelInputs({ b: 3, h: 2, l: 1, r: 2, p: 5, n: 6, nr: 2 }, 13);
      const ours = mamba3StepPartsOp(t, { rank: 2, chunkSize: 1 });
      const ref = mamba3StepPartsOp.reference(t, { rank: 2, chunkSize: 1 });
      for (const [i, name] of ['y', 'ssm', 'k', 'angle'].entries()) {
        await expectAllClose(ours[i] as Tensor, ref[i] as Tensor, { atol: 1e-5, rtol: 1e-4, message: name });
      }
      tf.dispose([t, ours, ref]);
    });

    it('routes the gradient of the WGSL step through the tfjs step', async () => {
      const t = stepKernelInputs({ b: 2, h: 2, l: 1, r: 2, p: 3, n: 4, nr: 2 }, 21);
      const w = philoxUniform([2, 2, 6], { seed: 23 });
      const f = (op: typeof mamba3StepPartsOp | typeof mamba3StepPartsOp.reference) => (xx: Tensor, C: Tensor, ssm: Tensor) => {
        const [y, s] = op({ ...t, x: xx, C, ssm }, { rank: 2, chunkSize: 1 }) as [Tensor, Tensor];
        return tf.add(tf.sum(tf.mul(y, w)), tf.sum(tf.square(s)));
      };
      const ours = tf.grads(f(mamba3StepPartsOp))([t.x, t.C, t.ssm]);
      const ref = tf.grads(f(mamba3StepPartsOp.reference))([t.x, t.C, t.ssm]);
      for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as Tensor, ref[i] as Tensor, { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([t, w, ...ours, ...ref]);
    });

    it('routes the gradient of the WGSL forward through the tfjs chunked form', async () => {
      const c = mamba3Case({ b: 1, h: 1, l: 6, r: 1, p: 2, n: 4, nr: 1 }, 15);
      const w = philoxUniform([1, 1, 6, 2], { seed: 16 });
      const f = (mode: 'chunk' | 'recurrent') => (x: Tensor, B: Tensor, theta: Tensor) =>
        tf.sum(tf.mul(mamba3(x, c.dt, c.A, B, c.C, { ...c.opts, theta, mode }).output, w));
      const ours = tf.grads(f('chunk'))([c.x, c.B, c.opts.theta]);
      const ref = tf.grads(f('recurrent'))([c.x, c.B, c.opts.theta]);
      for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as Tensor, ref[i] as Tensor, { atol: 1e-4, rtol: 1e-3 });
      tf.dispose([...mamba3Tensors(c), w, ...ours, ...ref]);
    });
  }

  if (backend === 'cpu') {
    it('has gradients that match central finite differences', async () => {
      const sizes = { b: 1, h: 1, l: 3, r: 2, p: 2, n: 2, nr: 1 };
      const c = mamba3Case(sizes, 17);
      const s0 = mamba3State(sizes, 18);
      const w = philoxUniform([1, 1, 3, 4], { seed: 19 });
      const names = ['x', 'dt', 'A', 'B', 'C', 'lambda', 'theta', 'D', 'ssm', 'k', 'v', 'angle'] as const;
      const args = [...mamba3Tensors(c), ...stateTensors(s0)];
      const f = (...a: Tensor[]) => {
        const [x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle] = a as [
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
        const out = mamba3(x, dt, A, B, C, { lambda, theta, D, rank: 2, chunkSize: 2, initialState: { ssm, k, v, angle } });
        return tf.addN([tf.sum(tf.mul(out.output, w)), tf.sum(tf.square(out.finalState.ssm)), tf.sum(tf.mul(out.finalState.k, 0.5))]);
      };
      const grads = tf.grads(f)(args);
      const eps = 1e-2;
      for (let i = 0; i < args.length; i++) {
        const base = (await (args[i] as Tensor).data()) as Float32Array;
        const numeric: number[] = [];
        for (let j = 0; j < base.length; j++) {
          const shifted = (delta: number) =>
            tf.tidy(() => {
              const values = base.slice();
              values[j] = (values[j] as number) + delta;
              const a = args.slice();
              a[i] = tf.tensor(values, (args[i] as Tensor).shape);
              return f(...a).dataSync()[0] as number;
            });
          numeric.push((shifted(eps) - shifted(-eps)) / (2 * eps));
        }
        await expectAllClose(grads[i] as Tensor, numeric, { atol: 2e-3, rtol: 1e-2, message: names[i] });
      }
      tf.dispose([...args, w, ...grads]);
    });
  }
});

describe('mamba3 fallback', () => {
  it('runs the tfjs forms on a backend without a Tessera kernel', () => {
    expect(mamba3ChunkOp.hasKernel('webgl')).toBe(false);
    expect(mamba3StepOp.hasKernel('webgl')).toBe(false);
    // the four-result ops are WebGPU's; cpu and wasm run the packed ops' host kernels
    for (const op of [mamba3ChunkPartsOp, mamba3ChunkFromZeroOp, mamba3StepPartsOp]) {
      expect(op.hasKernel('webgl')).toBe(false);
      expect(op.hasKernel('cpu')).toBe(false);
      expect(op.hasKernel('webgpu')).toBe(true);
    }
    // cpu and wasm run the host recurrence (test/host-kernels.test.ts)
    expect(mamba3StepOp.hasKernel('cpu')).toBe(true);
    expect(mamba3ChunkOp.hasKernel('wasm')).toBe(true);
  });
});
