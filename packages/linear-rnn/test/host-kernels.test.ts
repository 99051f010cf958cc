import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { deltaRule, deltaRuleStep } from '../src/delta-rule/index.js';
import { deltaRuleChunkOp, deltaRuleStepOp, gatedDeltaRuleChunkOp, gatedDeltaRuleStepOp } from '../src/delta-rule/op.js';
import { deltaRuleReference } from '../src/delta-rule/reference.js';
import { RESET_BELOW } from '../src/delta-rule/reset.js';
import { gatedDeltaRule } from '../src/gated-delta-rule/index.js';
import type { KernelTensors } from '../src/mamba3/kernel-inputs.js';
import { mamba3ChunkOp, mamba3StepOp } from '../src/mamba3/op.js';
import { unpack } from '../src/mamba3/packing.js';
import { recurrentReference } from '../src/mamba3/reference.js';
import type { Mamba3Dims } from '../src/mamba3/types.js';
import { type DeltaCase, deltaCase, type Mamba3Sizes, mamba3Case, mamba3State, tokenAt, withResets } from './cases.js';

/** The op inputs of a delta-rule case, gated or not. */
function deltaInputs(c: DeltaCase, gated: boolean, g: Tensor = c.g) {
  return gated ? { q: c.q, k: c.k, v: c.v, beta: c.beta, g, state: c.state } : { q: c.q, k: c.k, v: c.v, beta: c.beta, state: c.state };
}

/** Token 0 of every per-token tensor of a case (no L axis), the state kept. */
function deltaStepCase(c: DeltaCase): DeltaCase {
  return { q: tokenAt(c.q, 0), k: tokenAt(c.k, 0), v: tokenAt(c.v, 0), beta: tokenAt(c.beta, 0), g: tokenAt(c.g, 0), state: c.state };
}

/** Runs a delta-rule chunk op and its references: the tfjs chunked form and the per-token recurrence. */
function runDelta(gated: boolean, inputs: ReturnType<typeof deltaInputs>, chunkSize: number, scale: number) {
  const op = gated ? gatedDeltaRuleChunkOp : deltaRuleChunkOp;
  const attrs = { chunkSize, scale };
  const named = inputs as Parameters<typeof gatedDeltaRuleChunkOp>[0];
  const [output, finalState] = op(named, attrs) as [Tensor, Tensor];
  const [chunkOutput, chunkState] = op.reference(named, attrs) as [Tensor, Tensor];
  const rec = deltaRuleReference(inputs, scale);
  return { output, finalState, chunkOutput, chunkState, recOutput: rec.output, recState: rec.finalState };
}

describeBackends(
  'delta-rule host kernels',
  (backend) => {
    it('run on cpu and wasm (steps: cpu only, where they beat the tfjs step)', () => {
      expect(deltaRuleChunkOp.hasKernel()).toBe(true);
      expect(gatedDeltaRuleChunkOp.hasKernel()).toBe(true);
      expect(deltaRuleStepOp.hasKernel()).toBe(backend === 'cpu');
      expect(gatedDeltaRuleStepOp.hasKernel()).toBe(backend === 'cpu');
    });

    for (const gated of [false, true]) {
      const name = gated ? 'gated' : 'plain';
      it(`${name}: equals the tfjs chunked form and the recurrence (B·H = 6, Dk ≠ Dv, L not a multiple of the chunk, a state)`, async () => {
        const c = deltaCase(2, 3, 13, 6, 10, gated ? 71 : 70);
        const r = runDelta(gated, deltaInputs(c, gated), 5, 0.7);
        await expectAllClose(r.output, r.chunkOutput, { atol: 1e-4, rtol: 1e-4, message: 'output vs chunked' });
        await expectAllClose(r.finalState, r.chunkState, { atol: 1e-4, rtol: 1e-4, message: 'state vs chunked' });
        await expectAllClose(r.output, r.recOutput, { atol: 1e-5, rtol: 1e-5, message: 'output vs recurrence' });
        await expectAllClose(r.finalState, r.recState, { atol: 1e-5, rtol: 1e-5, message: 'state vs recurrence' });
        tf.dispose([c, r]);
      });

      it(`${name}: the step equals the tfjs step (B·H = 6, Dk ≠ Dv)`, async () => {
        const c = deltaCase(3, 2, 1, 7, 5, gated ? 73 : 72);
        const t = deltaStepCase(c);
        const op = gated ? gatedDeltaRuleStepOp : deltaRuleStepOp;
        const named = deltaInputs(t, gated) as Parameters<typeof gatedDeltaRuleStepOp>[0];
        const attrs = { chunkSize: 1, scale: 0.4 };
        const ours = op(named, attrs);
        const ref = op.reference(named, attrs);
        await expectAllClose(ours[0] as Tensor, ref[0] as Tensor, { atol: 1e-5, rtol: 1e-5, message: 'output' });
        await expectAllClose(ours[1] as Tensor, ref[1] as Tensor, { atol: 1e-5, rtol: 1e-5, message: 'state' });
        tf.dispose([c, t.q, t.k, t.v, t.beta, t.g, ours, ref]);
      });

      it(`${name}: its gradient is the tfjs form's (sequence and step)`, async () => {
        const c = deltaCase(1, 2, 7, 4, 3, gated ? 75 : 74);
        const w = philoxUniform([1, 2, 7, 3], { seed: 76, low: -1, high: 1 });
        const ws = philoxUniform([1, 2, 4, 3], { seed: 77, low: -1, high: 1 });
        const attrs = { chunkSize: 3, scale: 0.5 };
        const op = gated ? gatedDeltaRuleChunkOp : deltaRuleChunkOp;
        const loss = (f: typeof op | typeof op.reference) => (q: Tensor, k: Tensor, v: Tensor, beta: Tensor, state: Tensor, g?: Tensor) => {
          const [o, s] = f(
            deltaInputs({ q, k, v, beta, g: g ?? c.g, state }, gated) as Parameters<typeof gatedDeltaRuleChunkOp>[0],
            attrs,
          ) as [Tensor, Tensor];
          return tf.add(tf.sum(tf.mul(o, w)), tf.sum(tf.mul(s, ws)));
        };
        // g is an input of the gated ops only
        const args = gated ? [c.q, c.k, c.v, c.beta, c.state, c.g] : [c.q, c.k, c.v, c.beta, c.state];
        const ours = tf.grads(loss(op))(args);
        const ref = tf.grads(loss(op.reference))(args);
        for (let i = 0; i < args.length; i++) await expectAllClose(ours[i] as Tensor, ref[i] as Tensor, { atol: 1e-6, rtol: 1e-6 });

        const t = deltaStepCase(c);
        const stepOp = gated ? gatedDeltaRuleStepOp : deltaRuleStepOp;
        const wStep = tf.tidy(() => tf.squeeze(tf.slice(w, [0, 0, 0, 0], [-1, -1, 1, -1]), [2]));
        const stepLoss = (f: typeof stepOp | typeof stepOp.reference) => (k: Tensor, beta: Tensor, state: Tensor, g?: Tensor) => {
          const [o, s] = f(
            deltaInputs({ ...t, k, beta, g: g ?? t.g, state }, gated) as Parameters<typeof gatedDeltaRuleStepOp>[0],
            attrs,
          ) as [Tensor, Tensor];
          return tf.add(tf.sum(tf.mul(o, wStep)), tf.sum(tf.mul(s, ws)));
        };
        const stepArgs = gated ? [t.k, t.beta, t.state, t.g] : [t.k, t.beta, t.state];
        const oursStep = tf.grads(stepLoss(stepOp))(stepArgs);
        const refStep = tf.grads(stepLoss(stepOp.reference))(stepArgs);
        for (let i = 0; i < stepArgs.length; i++) {
          await expectAllClose(oursStep[i] as Tensor, refStep[i] as Tensor, { atol: 1e-6, rtol: 1e-6 });
        }
        tf.dispose([c, w, ws, wStep, ours, ref, t.q, t.k, t.v, t.beta, t.g, oursStep, refStep]);
      });

      it(`${name}: frees every intermediate, forward and gradient`, async () => {
        const c = deltaCase(1, 2, 6, 4, 3, 78);
        const named = deltaInputs(c, gated) as Parameters<typeof gatedDeltaRuleChunkOp>[0];
        const attrs = { chunkSize: 4, scale: 0.5 };
        const op = gated ? gatedDeltaRuleChunkOp : deltaRuleChunkOp;
        await expectNoLeaks(() => op(named, attrs));
        await expectNoLeaks(() => tf.grad((k: Tensor) => tf.sum((op({ ...named, k }, attrs) as Tensor[])[0] as Tensor))(c.k));
        const t = deltaStepCase(c);
        const stepOp = gated ? gatedDeltaRuleStepOp : deltaRuleStepOp;
        await expectNoLeaks(() => stepOp(deltaInputs(t, gated) as Parameters<typeof gatedDeltaRuleStepOp>[0], attrs));
        await expectNoLeaks(() => (gated ? gatedDeltaRule(c.q, c.k, c.v, c.beta, c.g) : deltaRule(c.q, c.k, c.v, c.beta)));
        await expectNoLeaks(() => deltaRuleStep(t.q, t.k, t.v, t.beta));
        tf.dispose([c, t.q, t.k, t.v, t.beta, t.g]);
      });
    }

    it('gated: resets (g = −∞, below RESET_BELOW, just above it) equal the tfjs forms, sequence and step', async () => {
      const c = deltaCase(1, 2, 14, 5, 4, 79);
      // head 0: −∞ at a chunk start (4), inside (6), at a chunk end (11, 12 … a run); head 1: below RESET_BELOW at 0 and 9
      const g = tf.tidy(() => {
        const inf = withResets(c.g, [4, 6, 11, 12]);
        const below = withResets(inf, [14, 23], RESET_BELOW - 50);
        return withResets(below, [18], RESET_BELOW + 1);
      });
      const r = runDelta(true, deltaInputs(c, true, g), 4, 0.6);
      await expectAllClose(r.output, r.chunkOutput, { atol: 1e-4, rtol: 1e-4, message: 'output vs chunked' });
      await expectAllClose(r.finalState, r.chunkState, { atol: 1e-4, rtol: 1e-4, message: 'state vs chunked' });
      await expectAllClose(r.output, r.recOutput, { atol: 1e-5, rtol: 1e-5, message: 'output vs recurrence' });
      await expectAllClose(r.finalState, r.recState, { atol: 1e-5, rtol: 1e-5, message: 'state vs recurrence' });

      const t = deltaStepCase(c);
      const gStep = tf.tensor2d([Number.NEGATIVE_INFINITY, RESET_BELOW - 1], [1, 2]);
      const named = { ...deltaInputs(t, true), g: gStep } as Parameters<typeof gatedDeltaRuleStepOp>[0];
      const ours = gatedDeltaRuleStepOp(named, { chunkSize: 1, scale: 0.6 });
      const ref = gatedDeltaRuleStepOp.reference(named, { chunkSize: 1, scale: 0.6 });
      await expectAllClose(ours[0] as Tensor, ref[0] as Tensor, { atol: 1e-6, rtol: 1e-6, message: 'step output' });
      await expectAllClose(ours[1] as Tensor, ref[1] as Tensor, { atol: 1e-6, rtol: 1e-6, message: 'step state' });
      tf.dispose([c, g, r, t.q, t.k, t.v, t.beta, t.g, gStep, ours, ref]);
    });

    for (const input of ['beta', 'g'] as const) {
      it(`a NaN in ${input} makes its (b, h) NaN from its token on, as the recurrence (the chunked form: from its chunk on)`, async () => {
        const c = deltaCase(1, 2, 8, 3, 2, 80);
        // head 1, token 5
        const poisoned = withResets(c[input], [13], Number.NaN);
        const inputs = { ...deltaInputs(c, true), [input]: poisoned };
        const r = runDelta(true, inputs, 4, 0.5);
        await expectAllClose(r.output, r.recOutput, { atol: 1e-5, rtol: 1e-5, message: 'output vs recurrence (NaN included)' });
        await expectAllClose(r.finalState, r.recState, { atol: 1e-5, rtol: 1e-5, message: 'state vs recurrence' });
        const out = (await r.output.data()) as Float32Array;
        const chunked = (await r.chunkOutput.data()) as Float32Array;
        const state = (await r.finalState.data()) as Float32Array;
        // head 0 untouched; head 1 finite before token 5, NaN from it on; the chunked form NaN wherever ours is
        expect(Array.from(out.slice(0, 16)).every(Number.isFinite)).toBe(true);
        expect(Array.from(out.slice(16, 26)).every(Number.isFinite)).toBe(true);
        expect(Array.from(out.slice(26)).every(Number.isNaN)).toBe(true);
        expect(out.every((x, i) => !Number.isNaN(x) || Number.isNaN(chunked[i] as number))).toBe(true);
        expect(Array.from(state.slice(0, 6)).every(Number.isFinite)).toBe(true);
        expect(Array.from(state.slice(6)).every(Number.isNaN)).toBe(true);
        tf.dispose([c, poisoned, r]);
      });
    }

    it('runs the host kernel for Dk above the WGSL kernels’ limit', async () => {
      const c = deltaCase(1, 1, 3, 260, 2, 81);
      const ours = deltaRule(c.q, c.k, c.v, c.beta, { initialState: c.state });
      const rec = deltaRule(c.q, c.k, c.v, c.beta, { initialState: c.state, mode: 'recurrent' });
      await expectAllClose(ours.output, rec.output, { atol: 1e-5, rtol: 1e-5 });
      await expectAllClose(ours.finalState, rec.finalState, { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([c, ours, rec]);
    });
  },
  { backends: ['cpu', 'wasm'] },
);

/** The kernel inputs of a Mamba-3 case with a state; `step` drops the L axis (token 0). */
function mamba3Inputs(sizes: Mamba3Sizes, seed: number, step: boolean): KernelTensors {
  return tf.tidy(() => {
    const c = mamba3Case(sizes, seed);
    const s = mamba3State(sizes, seed + 1);
    const at = (t: Tensor) => (step ? tokenAt(t, 0) : t);
    return {
      x: at(c.x),
      dt: at(c.dt),
      A: at(c.A),
      B: at(c.B),
      C: at(c.C),
      lambda: at(c.opts.lambda),
      theta: at(c.opts.theta),
      D: c.opts.D,
      ...s,
    };
  });
}

function mamba3Dims(s: Mamba3Sizes, step: boolean): Mamba3Dims {
  return { batch: s.b, heads: s.h, length: step ? 1 : s.l, rank: s.r, headDim: s.p, stateDim: s.n, angles: s.nr };
}

/** Compares two packed Mamba-3 results part by part (angles on the circle: each side wraps at its own point). */
async function expectPackedClose(ours: Tensor, ref: Tensor, d: Mamba3Dims, step: boolean, tol: number): Promise<void> {
  const a = unpack(ours, d, step);
  const b = unpack(ref, d, step);
  await expectAllClose(a.y, b.y, { atol: tol, rtol: tol, message: 'y' });
  await expectAllClose(a.ssm, b.ssm, { atol: tol, rtol: tol, message: 'ssm' });
  await expectAllClose(a.k, b.k, { atol: tol, rtol: tol, message: 'k' });
  const angles = tf.tidy(() => [tf.cos(a.angle), tf.cos(b.angle), tf.sin(a.angle), tf.sin(b.angle)]);
  await expectAllClose(angles[0] as Tensor, angles[1] as Tensor, { atol: tol, message: 'cos angle' });
  await expectAllClose(angles[2] as Tensor, angles[3] as Tensor, { atol: tol, message: 'sin angle' });
  expect(Array.from(await a.angle.data()).every((x) => x >= 0 && x <= 2 * Math.PI)).toBe(true);
  tf.dispose([...Object.values(a), ...Object.values(b), ...angles]);
}

describeBackends(
  'mamba3 host kernels',
  () => {
    it('run on cpu and wasm', () => {
      expect(mamba3ChunkOp.hasKernel()).toBe(true);
      expect(mamba3StepOp.hasKernel()).toBe(true);
    });

    for (const sizes of [
      { b: 2, h: 3, l: 13, r: 1, p: 5, n: 6, nr: 2 },
      { b: 1, h: 2, l: 9, r: 3, p: 4, n: 8, nr: 3 },
    ]) {
      it(`equals the tfjs chunked form and the recurrence (rank ${sizes.r}, L = ${sizes.l}, chunk 4, a state)`, async () => {
        const t = mamba3Inputs(sizes, 90 + sizes.r, false);
        const d = mamba3Dims(sizes, false);
        const attrs = { rank: sizes.r, chunkSize: 4 };
        const ours = mamba3ChunkOp(t, attrs);
        const ref = mamba3ChunkOp.reference(t, attrs);
        await expectPackedClose(ours, ref, d, false, 1e-4);
        const rec = recurrentReference(t, sizes.r);
        const a = unpack(ours, d, false);
        await expectAllClose(a.y, rec.y, { atol: 1e-5, rtol: 1e-4, message: 'y vs recurrence' });
        await expectAllClose(a.ssm, rec.ssm, { atol: 1e-5, rtol: 1e-4, message: 'ssm vs recurrence' });
        tf.dispose([t, ours, ref, ...Object.values(rec), ...Object.values(a)]);
      });

      it(`the step equals the tfjs step (rank ${sizes.r})`, async () => {
        const t = mamba3Inputs(sizes, 95 + sizes.r, true);
        const d = mamba3Dims(sizes, true);
        const attrs = { rank: sizes.r, chunkSize: 1 };
        const ours = mamba3StepOp(t, attrs);
        const ref = mamba3StepOp.reference(t, attrs);
        await expectPackedClose(ours, ref, d, true, 1e-5);
        tf.dispose([t, ours, ref]);
      });
    }

    it('its gradient is the tfjs form’s (sequence and step), and it frees every intermediate', async () => {
      const sizes = { b: 1, h: 2, l: 6, r: 2, p: 2, n: 4, nr: 1 };
      const t = mamba3Inputs(sizes, 100, false);
      const w = philoxUniform([1, 2, 6 * 4 + 8 + 8 + 1], { seed: 101 });
      const attrs = { rank: 2, chunkSize: 4 };
      const f =
        (op: typeof mamba3ChunkOp | typeof mamba3ChunkOp.reference) => (x: Tensor, dt: Tensor, B: Tensor, theta: Tensor, ssm: Tensor) =>
          tf.sum(tf.mul(tf.sin(op({ ...t, x, dt, B, theta, ssm }, attrs)), w));
      const args = [t.x, t.dt, t.B, t.theta, t.ssm];
      const ours = tf.grads(f(mamba3ChunkOp))(args);
      const ref = tf.grads(f(mamba3ChunkOp.reference))(args);
      for (let i = 0; i < args.length; i++) await expectAllClose(ours[i] as Tensor, ref[i] as Tensor, { atol: 1e-4, rtol: 1e-3 });
      await expectNoLeaks(() => mamba3ChunkOp(t, attrs));
      await expectNoLeaks(() => tf.grad((x: Tensor) => tf.sum(mamba3ChunkOp({ ...t, x }, attrs)))(t.x));

      const s = mamba3Inputs(sizes, 102, true);
      const wStep = philoxUniform([1, 2, 4 + 8 + 8 + 1], { seed: 103 });
      const g = (op: typeof mamba3StepOp | typeof mamba3StepOp.reference) => (x: Tensor, C: Tensor, ssm: Tensor) =>
        tf.sum(tf.mul(op({ ...s, x, C, ssm }, { rank: 2, chunkSize: 1 }), wStep));
      const oursStep = tf.grads(g(mamba3StepOp))([s.x, s.C, s.ssm]);
      const refStep = tf.grads(g(mamba3StepOp.reference))([s.x, s.C, s.ssm]);
      for (let i = 0; i < 3; i++) await expectAllClose(oursStep[i] as Tensor, refStep[i] as Tensor, { atol: 1e-5, rtol: 1e-4 });
      await expectNoLeaks(() => mamba3StepOp(s, { rank: 2, chunkSize: 1 }));
      tf.dispose([t, w, ours, ref, s, wStep, oursStep, refStep]);
    });

    it('a NaN in Δ makes its (b, h) NaN from the token before it on; the tfjs chunked form is NaN wherever it is', async () => {
      const sizes = { b: 1, h: 2, l: 8, r: 1, p: 2, n: 4, nr: 1 };
      const t = mamba3Inputs(sizes, 104, false);
      // head 1, token 5; its (1 − λ)Δ enters token 4's look-ahead, so y is NaN from token 4 (flat 16 + 8) on
      const dt = withResets(t.dt, [13], Number.NaN);
      const d = mamba3Dims(sizes, false);
      const ours = unpack(mamba3ChunkOp({ ...t, dt }, { rank: 1, chunkSize: 4 }), d, false);
      const ref = unpack(mamba3ChunkOp.reference({ ...t, dt }, { rank: 1, chunkSize: 4 }), d, false);
      const y = (await ours.y.data()) as Float32Array;
      const chunked = (await ref.y.data()) as Float32Array;
      expect(Array.from(y.slice(0, 24)).every(Number.isFinite)).toBe(true);
      expect(Array.from(y.slice(24)).every(Number.isNaN)).toBe(true);
      expect(y.every((v, i) => !Number.isNaN(v) || Number.isNaN(chunked[i] as number))).toBe(true);
      // before it, the recurrence's values (the tfjs chunked form's NaN reaches back through its chunk-state matmul)
      const rec = recurrentReference({ ...t, dt }, 1);
      const head = (u: Tensor) => tf.slice(u, [0, 0, 0, 0], [1, 2, 4, 2]);
      const before = tf.tidy(() => [head(ours.y), head(rec.y)]);
      await expectAllClose(before[0] as Tensor, before[1] as Tensor, { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([...before, ...Object.values(rec)]);
      const ssm = (await ours.ssm.data()) as Float32Array;
      expect(Array.from(ssm.slice(0, 8)).every(Number.isFinite)).toBe(true);
      expect(Array.from(ssm.slice(8)).every(Number.isNaN)).toBe(true);
      tf.dispose([t, dt, ...Object.values(ours), ...Object.values(ref)]);
    });
  },
  { backends: ['cpu', 'wasm'] },
);
