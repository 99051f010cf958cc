import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DtypeError,
  FormatError,
  readSafetensors,
  ShapeError,
  type Tensor,
  TesseraError,
  tf,
  ValueError,
  writeSafetensors,
} from '@tessera/tensor-core';
import { badInput, describeBackends, type ErasedBadInputCase, itRejects } from '@tessera/tensor-core/testing';
import { afterAll, describe } from 'vitest';
import {
  DeltaNet,
  deltaRule,
  deltaRuleStep,
  EFLA,
  efla,
  FlaCausalLM,
  loadCausalLM,
  loadMambaLM,
  MambaLM,
  saveCheckpoint,
  eflaStep,
  eflaStepSize,
  GatedDeltaNet,
  GatedRMSNorm,
  gatedDeltaRule,
  gatedDeltaRuleStep,
  l2Normalize,
  Linear,
  Mamba3,
  mamba3,
  mamba3Step,
  mamba3ZeroState,
  RMSNorm,
  ShortConvolution,
} from '../src/index.js';

/*
 * One table per public function and constructor (issue 10's probe, kept): each row is an input that must
 * raise a named error — the argument, what was expected, what was received — and leave no tensor
 * behind. Shapes and options do not depend on the backend, so those tables run on the CPU; the
 * non-finite rows run where values are checked (cpu and wasm; WebGPU has no synchronous readback, see
 * the NaN-propagation tests).
 */

/** A tensor disposed before the call. */
function disposed(shape: number[]): Tensor {
  const t = tf.zeros(shape);
  t.dispose();
  return t;
}

/** The tensors of a delta-rule call; `L = 4`, `Dk = 3`, `Dv = 2`, `B = 1`, `H = 2` (steps drop L). */
interface DeltaArgs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  beta: Tensor;
  g: Tensor;
  state: Tensor;
}

function deltaArgs(step: boolean, change: Partial<Record<keyof DeltaArgs, number[]>> = {}): DeltaArgs {
  const seq = step ? [] : [4];
  const shape = (name: keyof DeltaArgs, fallback: number[]) => change[name] ?? fallback;
  return {
    q: tf.zeros(shape('q', [1, 2, ...seq, 3])),
    k: tf.zeros(shape('k', [1, 2, ...seq, 3])),
    v: tf.zeros(shape('v', [1, 2, ...seq, 2])),
    beta: tf.zeros(shape('beta', [1, 2, ...seq])),
    g: tf.zeros(shape('g', [1, 2, ...seq])),
    state: tf.zeros(shape('state', [1, 2, 3, 2])),
  };
}

/** `t` with one tensor replaced by `value` (built inside `inputs`, so it is counted as the case's own). */
function withValue(t: DeltaArgs, name: keyof DeltaArgs, value: number, at = 1): DeltaArgs {
  const values = new Float32Array(t[name].size);
  values[at] = value;
  const replaced = tf.tensor(values, t[name].shape);
  t[name].dispose();
  return { ...t, [name]: replaced };
}

type DeltaCall = (t: DeltaArgs, opts?: unknown) => unknown;

/**
 * The rows every delta-rule function shares. `call` maps the tensors (and options) to the function;
 * `optionNames` are the options it knows, as its error lists them.
 */
function deltaRows(name: string, step: boolean, call: DeltaCall, optionNames: string): ErasedBadInputCase[] {
  const l = step ? '' : ', L';
  const shapeOf = (s: number[]) => `[${s.join(', ')}]`;
  const seq = step ? [] : [4];
  const rows: ErasedBadInputCase[] = [
    badInput({
      name: `${name}: q that is not a tensor`,
      inputs: () => deltaArgs(step),
      call: (t) => call({ ...t, q: [1, 2] as never }),
      error: ShapeError,
      message: `q: expected a tensor of shape [B, H${l}, Dk], received [1, 2]`,
    }),
    badInput({
      name: `${name}: a disposed k`,
      inputs: () => deltaArgs(step),
      call: (t) => call({ ...t, k: disposed([1, 2, ...seq, 3]) }),
      error: ValueError,
      message: `k: expected a live tensor, received a disposed Tensor<float32>${shapeOf([1, 2, ...seq, 3])}`,
    }),
    badInput({
      name: `${name}: k with another batch`,
      inputs: () => deltaArgs(step, { k: [2, 2, ...seq, 3] }),
      call: (t) => call(t),
      error: ShapeError,
      message: `k: expected dimension 0 (B) to be 1 as bound by an earlier argument, received shape ${shapeOf([2, 2, ...seq, 3])}`,
    }),
    badInput({
      name: `${name}: v with another head count`,
      inputs: () => deltaArgs(step, { v: [1, 3, ...seq, 2] }),
      call: (t) => call(t),
      error: ShapeError,
      message: `v: expected dimension 1 (H) to be 2 as bound by an earlier argument, received shape ${shapeOf([1, 3, ...seq, 2])}`,
    }),
    badInput({
      name: `${name}: beta of the wrong rank`,
      inputs: () => deltaArgs(step, { beta: [1, 2, ...seq, 1] }),
      call: (t) => call(t),
      error: ShapeError,
      message: `beta: expected rank ${step ? 2 : 3} [B, H${l}], received rank ${step ? 3 : 4}`,
    }),
    badInput({
      name: `${name}: an initialState whose Dk differs`,
      inputs: () => deltaArgs(step, { state: [1, 2, 4, 2] }),
      call: (t) => call(t, { initialState: t.state }),
      error: ShapeError,
      message: 'opts.initialState: expected dimension 2 (Dk) to be 3 as bound by an earlier argument, received shape [1, 2, 4, 2]',
    }),
    badInput({
      name: `${name}: an initialState whose Dv differs`,
      inputs: () => deltaArgs(step, { state: [1, 2, 3, 5] }),
      call: (t) => call(t, { initialState: t.state }),
      error: ShapeError,
      message: 'opts.initialState: expected dimension 3 (Dv) to be 2 as bound by an earlier argument, received shape [1, 2, 3, 5]',
    }),
    badInput({
      name: `${name}: an initialState that is not a tensor`,
      inputs: () => deltaArgs(step),
      call: (t) => call(t, { initialState: { recurrent: t.state } }),
      error: ShapeError,
      message: 'opts.initialState: expected a tensor of shape [B, H, Dk, Dv], received [object Object]',
    }),
    badInput({
      name: `${name}: options that are null`,
      inputs: () => deltaArgs(step),
      call: (t) => call(t, null),
      error: ValueError,
      message: `opts: expected an options object { ${optionNames} }, received null`,
    }),
    badInput({
      name: `${name}: a state passed where the options go (the 0.1 call)`,
      inputs: () => deltaArgs(step),
      call: (t) => call(t, t.state),
      error: ValueError,
      message: `opts: expected an options object { ${optionNames} }, received Tensor<float32>[1, 2, 3, 2]`,
    }),
    badInput({
      name: `${name}: an unknown option (a typo)`,
      inputs: () => deltaArgs(step),
      call: (t) => call(t, { scael: 1 }),
      error: ValueError,
      message: `opts.scael: expected one of the known options (${optionNames}), received an unknown option (did you mean scale?)`,
    }),
    badInput({
      name: `${name}: a non-finite scale`,
      inputs: () => deltaArgs(step),
      call: (t) => call(t, { scale: Number.NaN }),
      error: ValueError,
      message: 'opts.scale: expected a finite number, received NaN',
    }),
    badInput({
      name: `${name}: an int32 beta`,
      inputs: () => ({ ...deltaArgs(step), beta: tf.zeros([1, 2, ...seq], 'int32') }),
      call: (t) => call(t),
      error: DtypeError,
      message: 'beta: expected dtype float32, received int32',
    }),
  ];
  if (!step) {
    rows.push(
      badInput({
        name: `${name}: a chunkSize of 0`,
        inputs: () => deltaArgs(step),
        call: (t) => call(t, { chunkSize: 0 }),
        error: ValueError,
        message: 'opts.chunkSize: expected an integer ≥ 1 and ≤ 256, received 0',
      }),
      badInput({
        name: `${name}: a fractional chunkSize`,
        inputs: () => deltaArgs(step),
        call: (t) => call(t, { chunkSize: 2.5 }),
        error: ValueError,
        message: 'opts.chunkSize: expected an integer ≥ 1 and ≤ 256, received 2.5',
      }),
      badInput({
        name: `${name}: a chunkSize above the limit`,
        inputs: () => deltaArgs(step),
        call: (t) => call(t, { chunkSize: 4096 }),
        error: ValueError,
        message: 'opts.chunkSize: expected an integer ≥ 1 and ≤ 256, received 4096',
      }),
      badInput({
        name: `${name}: an unknown mode`,
        inputs: () => deltaArgs(step),
        call: (t) => call(t, { mode: 'fast' }),
        error: ValueError,
        message: `opts.mode: expected 'chunk' or 'recurrent', received "fast"`,
      }),
      badInput({
        name: `${name}: an empty sequence`,
        inputs: () => deltaArgs(step, { q: [1, 2, 0, 3], k: [1, 2, 0, 3], v: [1, 2, 0, 2], beta: [1, 2, 0], g: [1, 2, 0] }),
        call: (t) => call(t),
        error: ValueError,
        message: 'q: expected a non-empty L dimension, received shape [1, 2, 0, 3]',
      }),
    );
  }
  return rows;
}

/** The non-finite rows of a delta-rule function (cpu and wasm check values). */
function deltaValueRows(name: string, step: boolean, call: DeltaCall, gName?: string): ErasedBadInputCase[] {
  const rows = [
    badInput({
      name: `${name}: a NaN in beta`,
      inputs: () => withValue(deltaArgs(step), 'beta', Number.NaN, 1),
      call: (t) => call(t),
      error: ValueError,
      message: 'beta: expected finite values, received NaN at flat index 1',
    }),
    badInput({
      name: `${name}: an infinite q`,
      inputs: () => withValue(deltaArgs(step), 'q', Number.POSITIVE_INFINITY, 5),
      call: (t) => call(t),
      error: ValueError,
      message: 'q: expected finite values, received Infinity at flat index 5',
    }),
    badInput({
      name: `${name}: a NaN in the initial state`,
      inputs: () => withValue(deltaArgs(step), 'state', Number.NaN, 2),
      call: (t) => call(t, { initialState: t.state }),
      error: ValueError,
      message: 'opts.initialState: expected finite values, received NaN at flat index 2',
    }),
  ];
  if (gName !== undefined) {
    // −∞ is a reset and allowed; +∞ and NaN are not
    rows.push(
      badInput({
        name: `${name}: a +∞ log-decay`,
        inputs: () => withValue(deltaArgs(step), 'g', Number.POSITIVE_INFINITY, 1),
        call: (t) => call(t),
        error: ValueError,
        message: `${gName}: expected finite values or -Infinity, received Infinity at flat index 1`,
      }),
    );
  }
  return rows;
}

const SEQ_OPTIONS = 'mode, chunkSize, initialState, scale';
const STEP_OPTIONS = 'initialState, scale';

const calls = {
  deltaRule: ((t, o) => deltaRule(t.q, t.k, t.v, t.beta, o as never)) as DeltaCall,
  deltaRuleStep: ((t, o) => deltaRuleStep(t.q, t.k, t.v, t.beta, o as never)) as DeltaCall,
  gatedDeltaRule: ((t, o) => gatedDeltaRule(t.q, t.k, t.v, t.beta, t.g, o as never)) as DeltaCall,
  gatedDeltaRuleStep: ((t, o) => gatedDeltaRuleStep(t.q, t.k, t.v, t.beta, t.g, o as never)) as DeltaCall,
  // EFLA's log-decay is an option: pass it whenever options are an object, so its rows see g too
  efla: ((t, o) => efla(t.q, t.k, t.v, t.beta, o === undefined ? { g: t.g } : (o as never))) as DeltaCall,
  eflaStep: ((t, o) => eflaStep(t.q, t.k, t.v, t.beta, o === undefined ? { g: t.g } : (o as never))) as DeltaCall,
};

describe('bad input: deltaRule', () => itRejects(deltaRows('deltaRule', false, calls.deltaRule, SEQ_OPTIONS)));
describe('bad input: deltaRuleStep', () => itRejects(deltaRows('deltaRuleStep', true, calls.deltaRuleStep, STEP_OPTIONS)));

describe('bad input: gatedDeltaRule', () =>
  itRejects([
    ...deltaRows('gatedDeltaRule', false, calls.gatedDeltaRule, SEQ_OPTIONS),
    badInput({
      name: 'gatedDeltaRule: g left out',
      inputs: () => deltaArgs(false),
      call: (t) => gatedDeltaRule(t.q, t.k, t.v, t.beta, undefined as never),
      error: ShapeError,
      message: 'g: expected a tensor of shape [B, H, L], received undefined',
    }),
    badInput({
      name: 'gatedDeltaRule: g of another length',
      inputs: () => deltaArgs(false, { g: [1, 2, 3] }),
      call: (t) => calls.gatedDeltaRule(t),
      error: ShapeError,
      message: 'g: expected dimension 2 (L) to be 4 as bound by an earlier argument, received shape [1, 2, 3]',
    }),
  ]));

describe('bad input: gatedDeltaRuleStep', () =>
  itRejects([
    ...deltaRows('gatedDeltaRuleStep', true, calls.gatedDeltaRuleStep, STEP_OPTIONS),
    badInput({
      name: 'gatedDeltaRuleStep: g with another batch',
      inputs: () => deltaArgs(true, { g: [2, 2] }),
      call: (t) => calls.gatedDeltaRuleStep(t),
      error: ShapeError,
      message: 'g: expected dimension 0 (B) to be 1 as bound by an earlier argument, received shape [2, 2]',
    }),
  ]));

describe('bad input: efla', () =>
  itRejects([
    ...deltaRows('efla', false, calls.efla, `${SEQ_OPTIONS}, g`),
    badInput({
      name: 'efla: the 0.1 option name gated',
      inputs: () => deltaArgs(false),
      call: (t) => efla(t.q, t.k, t.v, t.beta, { gated: t.g } as never),
      error: ValueError,
      message: `opts.gated: expected one of the known options (${SEQ_OPTIONS}, g), received an unknown option`,
    }),
    badInput({
      name: 'efla: opts.g of another length',
      inputs: () => deltaArgs(false, { g: [1, 2, 5] }),
      call: (t) => efla(t.q, t.k, t.v, t.beta, { g: t.g }),
      error: ShapeError,
      message: 'opts.g: expected dimension 2 (L) to be 4 as bound by an earlier argument, received shape [1, 2, 5]',
    }),
  ]));

describe('bad input: eflaStep', () =>
  itRejects([
    ...deltaRows('eflaStep', true, calls.eflaStep, `${STEP_OPTIONS}, g`),
    badInput({
      name: 'eflaStep: opts.g with the L axis',
      inputs: () => deltaArgs(true, { g: [1, 2, 1] }),
      call: (t) => eflaStep(t.q, t.k, t.v, t.beta, { g: t.g }),
      error: ShapeError,
      message: 'opts.g: expected rank 2 [B, H], received rank 3 [1, 2, 1]',
    }),
  ]));

describe('bad input: eflaStepSize', () =>
  itRejects([
    badInput({
      name: 'eflaStepSize: beta that is not a tensor',
      inputs: () => tf.zeros([2, 3]),
      call: (k) => eflaStepSize(0.5 as never, k),
      error: ShapeError,
      message: 'beta: expected a tensor of shape [], received 0.5',
    }),
    badInput({
      name: 'eflaStepSize: k whose leading shape is not beta’s',
      inputs: () => ({ beta: tf.zeros([2]), k: tf.zeros([3, 4]) }),
      call: ({ beta, k }) => eflaStepSize(beta, k),
      error: ShapeError,
      message: 'k: expected dimension 0 to be 2, received shape [3, 4]',
    }),
    badInput({
      name: 'eflaStepSize: a disposed k',
      inputs: () => tf.zeros([2]),
      call: (beta) => eflaStepSize(beta, disposed([2, 4])),
      error: ValueError,
      message: 'k: expected a live tensor, received a disposed Tensor<float32>[2, 4]',
    }),
    badInput({
      name: 'eflaStepSize: an int32 k',
      inputs: () => ({ beta: tf.zeros([2]), k: tf.zeros([2, 4], 'int32') }),
      call: ({ beta, k }) => eflaStepSize(beta, k),
      error: DtypeError,
      message: 'k: expected dtype float32, received int32',
    }),
  ]));

describeBackends(
  'bad input: non-finite values where they are checked',
  () => {
    itRejects([
      ...deltaValueRows('deltaRule', false, calls.deltaRule),
      ...deltaValueRows('deltaRuleStep', true, calls.deltaRuleStep),
      ...deltaValueRows('gatedDeltaRule', false, calls.gatedDeltaRule, 'g'),
      ...deltaValueRows('gatedDeltaRuleStep', true, calls.gatedDeltaRuleStep, 'g'),
      ...deltaValueRows('efla', false, calls.efla, 'opts.g'),
      ...deltaValueRows('eflaStep', true, calls.eflaStep, 'opts.g'),
      badInput({
        name: 'mamba3: a NaN in x',
        inputs: () => withMamba3Value(mamba3Args(false), 'x', Number.NaN, 1),
        call: (t) => callMamba3(t),
        error: ValueError,
        message: 'x: expected finite values, received NaN at flat index 1',
      }),
      badInput({
        name: 'mamba3: an infinite dt',
        inputs: () => withMamba3Value(mamba3Args(false), 'dt', Number.POSITIVE_INFINITY, 2),
        call: (t) => callMamba3(t),
        error: ValueError,
        message: 'dt: expected finite values, received Infinity at flat index 2',
      }),
      badInput({
        name: 'mamba3Step: a NaN in opts.lambda',
        inputs: () => withMamba3Value(mamba3Args(true), 'lambda', Number.NaN, 0),
        call: (t) => callMamba3Step(t),
        error: ValueError,
        message: 'opts.lambda: expected finite values, received NaN at flat index 0',
      }),
      badInput({
        name: 'mamba3Step: a NaN in the initial state',
        inputs: () => ({ t: mamba3Args(true), state: nanState() }),
        call: ({ t, state }) => callMamba3Step(t, { initialState: state }),
        error: ValueError,
        message: 'opts.initialState.ssm: expected finite values, received NaN at flat index 0',
      }),
    ]);
  },
  { backends: ['cpu', 'wasm'] },
);

/** Mamba-3 tensors: B = 1, H = 2, L = 4, R·P = 4, R·N = 4, Nr = 1 (steps drop L). */
interface Mamba3Args {
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  lambda: Tensor;
  theta: Tensor;
  D: Tensor;
}

function mamba3Args(step: boolean, change: Partial<Record<keyof Mamba3Args, number[]>> = {}): Mamba3Args {
  const seq = step ? [] : [4];
  const shape = (name: keyof Mamba3Args, fallback: number[]) => change[name] ?? fallback;
  return {
    x: tf.zeros(shape('x', [1, 2, ...seq, 4])),
    dt: tf.zeros(shape('dt', [1, 2, ...seq])),
    A: tf.zeros(shape('A', [1, 2, ...seq])),
    B: tf.zeros(shape('B', [1, 2, ...seq, 4])),
    C: tf.zeros(shape('C', [1, 2, ...seq, 4])),
    lambda: tf.zeros(shape('lambda', [1, 2, ...seq])),
    theta: tf.zeros(shape('theta', [1, 2, ...seq, 1])),
    D: tf.zeros(shape('D', [2])),
  };
}

function withMamba3Value(t: Mamba3Args, name: keyof Mamba3Args, value: number, at: number): Mamba3Args {
  const values = new Float32Array(t[name].size);
  values[at] = value;
  const replaced = tf.tensor(values, t[name].shape);
  t[name].dispose();
  return { ...t, [name]: replaced };
}

function nanState() {
  return { ssm: tf.fill([1, 2, 4, 4], Number.NaN), k: tf.zeros([1, 2, 4]), v: tf.zeros([1, 2, 4]), angle: tf.zeros([1, 2, 1]) };
}

const MAMBA3_OPTIONS = 'lambda, theta, D, rank, mode, chunkSize, initialState';
const MAMBA3_STEP_OPTIONS = 'lambda, theta, D, rank, initialState';

function callMamba3(t: Mamba3Args, opts: Record<string, unknown> = {}): unknown {
  return mamba3(t.x, t.dt, t.A, t.B, t.C, { lambda: t.lambda, theta: t.theta, D: t.D, ...opts });
}

function callMamba3Step(t: Mamba3Args, opts: Record<string, unknown> = {}): unknown {
  return mamba3Step(t.x, t.dt, t.A, t.B, t.C, { lambda: t.lambda, theta: t.theta, D: t.D, ...opts });
}

/** The rows `mamba3` and `mamba3Step` share. */
function mamba3Rows(name: string, step: boolean): ErasedBadInputCase[] {
  const call = step ? callMamba3Step : callMamba3;
  const seq = step ? [] : [4];
  const l = step ? '' : ', L';
  return [
    badInput({
      name: `${name}: the 0.1 call, with dt, A, B, C in the options`,
      inputs: () => mamba3Args(step),
      call: (t) => (step ? mamba3Step : mamba3)(t.x, { dt: t.dt, A: t.A, B: t.B, C: t.C } as never, undefined as never, t.B, t.C),
      error: ShapeError,
      message: `dt: expected a tensor of shape [B, H${l}], received [object Object]`,
    }),
    badInput({
      name: `${name}: a disposed x`,
      inputs: () => mamba3Args(step),
      call: (t) => call({ ...t, x: disposed([1, 2, ...seq, 4]) }),
      error: ValueError,
      message: `x: expected a live tensor, received a disposed Tensor<float32>[${[1, 2, ...seq, 4].join(', ')}]`,
    }),
    badInput({
      name: `${name}: A per head with the wrong head count`,
      inputs: () => mamba3Args(step, { A: [3] }),
      call: (t) => call(t),
      error: ShapeError,
      message: 'A: expected dimension 0 (H) to be 2 as bound by an earlier argument, received shape [3]',
    }),
    badInput({
      name: `${name}: C wider than B`,
      inputs: () => mamba3Args(step, { C: [1, 2, ...seq, 6] }),
      call: (t) => call(t),
      error: ShapeError,
      message: `C: expected dimension ${step ? 2 : 3} (RN) to be 4`,
    }),
    badInput({
      name: `${name}: opts.lambda of another head count`,
      inputs: () => mamba3Args(step, { lambda: [1, 3, ...seq] }),
      call: (t) => call(t),
      error: ShapeError,
      message: 'opts.lambda: expected dimension 1 (H) to be 2',
    }),
    badInput({
      name: `${name}: more angles than N/2`,
      inputs: () => mamba3Args(step, { theta: [1, 2, ...seq, 3] }),
      call: (t) => call(t),
      error: ShapeError,
      message: 'opts.theta: expected 1 ≤ Nr ≤ N/2 = 2 angles in the last dimension',
    }),
    badInput({
      name: `${name}: an odd state size`,
      inputs: () => mamba3Args(step, { B: [1, 2, ...seq, 3], C: [1, 2, ...seq, 3] }),
      call: (t) => call(t),
      error: ShapeError,
      message: 'B: expected an even state size N (rotations act on pairs), received N = 3',
    }),
    badInput({
      name: `${name}: a rank that does not divide x`,
      inputs: () => mamba3Args(step),
      call: (t) => call(t, { rank: 3 }),
      error: ShapeError,
      message: "opts.rank: expected a divisor of x's last dimension R·P = 4, received 3",
    }),
    badInput({
      name: `${name}: rank 0`,
      inputs: () => mamba3Args(step),
      call: (t) => call(t, { rank: 0 }),
      error: ValueError,
      message: 'opts.rank: expected an integer ≥ 1 and ≤ 64, received 0',
    }),
    badInput({
      name: `${name}: an initial state of the wrong size`,
      inputs: () => ({ t: mamba3Args(step), s: mamba3ZeroState({ batch: 1, heads: 2, headDim: 4, stateDim: 2, angles: 1 }) }),
      call: ({ t, s }) => call(t, { initialState: s }),
      error: ShapeError,
      message: 'opts.initialState.ssm: expected dimension 3 to be 4, received shape [1, 2, 4, 2]',
    }),
    badInput({
      name: `${name}: an initial state that is a tensor`,
      inputs: () => ({ t: mamba3Args(step), s: tf.zeros([1, 2, 4, 4]) }),
      call: ({ t, s }) => call(t, { initialState: s }),
      error: ValueError,
      message: 'opts.initialState: expected { ssm, k, v, angle }, received Tensor<float32>[1, 2, 4, 4]',
    }),
    badInput({
      name: `${name}: an unknown option`,
      inputs: () => mamba3Args(step),
      call: (t) => call(t, { Lambda: t.lambda }),
      error: ValueError,
      message: `opts.Lambda: expected one of the known options (${step ? MAMBA3_STEP_OPTIONS : MAMBA3_OPTIONS}), received an unknown option (did you mean lambda?)`,
    }),
    badInput({
      name: `${name}: an int32 x`,
      inputs: () => ({ ...mamba3Args(step), x: tf.zeros([1, 2, ...seq, 4], 'int32') }),
      call: (t) => call(t),
      error: DtypeError,
      message: 'x: expected dtype float32, received int32',
    }),
  ];
}

describe('bad input: mamba3', () =>
  itRejects([
    ...mamba3Rows('mamba3', false),
    badInput({
      name: 'mamba3: dt of another length',
      inputs: () => mamba3Args(false, { dt: [1, 2, 3] }),
      call: (t) => callMamba3(t),
      error: ShapeError,
      message: 'dt: expected dimension 2 (L) to be 4 as bound by an earlier argument, received shape [1, 2, 3]',
    }),
    badInput({
      name: 'mamba3: an empty x',
      inputs: () => mamba3Args(false, { x: [1, 2, 4, 0] }),
      call: (t) => callMamba3(t),
      error: ShapeError,
      message: 'x: expected a non-empty tensor, received shape [1, 2, 4, 0]',
    }),
    badInput({
      name: 'mamba3: a chunkSize of −4',
      inputs: () => mamba3Args(false),
      call: (t) => callMamba3(t, { chunkSize: -4 }),
      error: ValueError,
      message: 'opts.chunkSize: expected an integer ≥ 1 and ≤ 256, received -4',
    }),
    badInput({
      name: 'mamba3: an unknown mode',
      inputs: () => mamba3Args(false),
      call: (t) => callMamba3(t, { mode: 'parallel' }),
      error: ValueError,
      message: `opts.mode: expected 'chunk' or 'recurrent', received "parallel"`,
    }),
    badInput({
      name: 'mamba3: options that are null',
      inputs: () => mamba3Args(false),
      call: (t) => mamba3(t.x, t.dt, t.A, t.B, t.C, null as never),
      error: ValueError,
      message: `opts: expected an options object { ${MAMBA3_OPTIONS} }, received null`,
    }),
  ]));

describe('bad input: mamba3Step', () =>
  itRejects([
    ...mamba3Rows('mamba3Step', true),
    badInput({
      name: 'mamba3Step: dt with the L axis',
      inputs: () => mamba3Args(true, { dt: [1, 2, 1] }),
      call: (t) => callMamba3Step(t),
      error: ShapeError,
      message: 'dt: expected rank 2 [B, H], received rank 3 [1, 2, 1]',
    }),
    badInput({
      name: 'mamba3Step: the 0.1 call, with the state third',
      inputs: () => ({ t: mamba3Args(true), s: mamba3ZeroState({ batch: 1, heads: 2, headDim: 4, stateDim: 4, angles: 1 }) }),
      call: ({ t, s }) => mamba3Step(t.x, { dt: t.dt } as never, s as never, t.B, t.C),
      error: ShapeError,
      message: 'dt: expected a tensor of shape [B, H], received [object Object]',
    }),
  ]));

describe('bad input: mamba3ZeroState', () =>
  itRejects([
    badInput({
      name: 'mamba3ZeroState: null sizes',
      call: () => mamba3ZeroState(null as never),
      error: ValueError,
      message: 'sizes: expected an options object { batch, heads, rank, headDim, stateDim, angles }, received null',
    }),
    badInput({
      name: 'mamba3ZeroState: batch −1',
      call: () => mamba3ZeroState({ batch: -1, heads: 2, headDim: 4, stateDim: 4, angles: 1 }),
      error: ValueError,
      message: 'sizes.batch: expected an integer ≥ 1 and ≤ 268435456, received -1',
    }),
    badInput({
      name: 'mamba3ZeroState: a missing size',
      call: () => mamba3ZeroState({ batch: 1, heads: 2, headDim: 4, stateDim: 4 } as never),
      error: ValueError,
      message: 'sizes.angles: expected an integer ≥ 1 and ≤ 268435456, received undefined',
    }),
    badInput({
      name: 'mamba3ZeroState: an odd state size',
      call: () => mamba3ZeroState({ batch: 1, heads: 2, headDim: 4, stateDim: 5, angles: 1 }),
      error: ShapeError,
      message: 'sizes.stateDim: expected an even state size (rotations act on pairs), received 5',
    }),
    badInput({
      name: 'mamba3ZeroState: more angles than stateDim/2',
      call: () => mamba3ZeroState({ batch: 1, heads: 2, headDim: 4, stateDim: 4, angles: 3 }),
      error: ShapeError,
      message: 'sizes.angles: expected 1 ≤ angles ≤ stateDim/2 = 2, received 3',
    }),
    badInput({
      name: 'mamba3ZeroState: a state past the element limit',
      call: () => mamba3ZeroState({ batch: 4096, heads: 64, headDim: 64, stateDim: 64, angles: 1 }),
      error: ValueError,
      message: 'sizes (the ssm tensor): expected at most 268435456 elements (2^28, 1 GiB of float32), received shape [4096, 64, 64, 64]',
    }),
    badInput({
      name: 'mamba3ZeroState: an unknown size',
      call: () => mamba3ZeroState({ batch: 1, heads: 2, headDim: 4, stateDim: 4, angels: 1 } as never),
      error: ValueError,
      message:
        'sizes.angels: expected one of the known options (batch, heads, rank, headDim, stateDim, angles), received an unknown option (did you mean angles?)',
    }),
  ]));

const LAYER_OPTIONS = 'dModel, heads, headDim, expandV, convSize, useGate, allowNegEigval, normEps, chunkSize, seed';
/** GatedDeltaNet also knows numVHeads (fla's grouped value heads). */
const options = (name: string) => (name === 'GatedDeltaNet' ? `${LAYER_OPTIONS}, numVHeads` : LAYER_OPTIONS);

for (const [name, Layer] of [
  ['DeltaNet', DeltaNet],
  ['GatedDeltaNet', GatedDeltaNet],
  ['EFLA', EFLA],
] as const) {
  describe(`bad input: ${name}`, () => {
    const layer = new Layer({ dModel: 8, heads: 2, headDim: 4 });
    afterAll(() => layer.dispose());
    const construct = (opts: unknown) => () => new Layer(opts as never);
    itRejects([
      badInput({
        name: `new ${name}(null)`,
        call: construct(null),
        error: ValueError,
        message: `opts: expected an options object { ${options(name)} }, received null`,
      }),
      badInput({
        name: `new ${name}: a misspelt option`,
        call: construct({ dmodel: 8 }),
        error: ValueError,
        message: `opts.dmodel: expected one of the known options (${options(name)}), received an unknown option (did you mean dModel?)`,
      }),
      badInput({
        name: `new ${name}: heads 0`,
        call: construct({ heads: 0 }),
        error: ValueError,
        message: 'opts.heads: expected an integer ≥ 1',
      }),
      badInput({
        name: `new ${name}: a fractional value width`,
        call: construct({ headDim: 3, expandV: 1.5 }),
        error: ValueError,
        message: 'opts.expandV: expected headDim · expandV to be an integer, received 3 · 1.5',
      }),
      badInput({
        name: `new ${name}: a chunkSize above the limit`,
        call: construct({ chunkSize: 1000 }),
        error: ValueError,
        message: 'opts.chunkSize: expected an integer ≥ 1 and ≤ 256, received 1000',
      }),
      badInput({
        name: `new ${name}: a useGate that is not a boolean`,
        call: construct({ useGate: 'yes' }),
        error: ValueError,
        message: 'opts.useGate: expected true or false, received "yes"',
      }),
      badInput({
        name: `new ${name}: normEps 0`,
        call: construct({ normEps: 0 }),
        error: ValueError,
        message: 'opts.normEps: expected a finite number > 0, received 0',
      }),
      badInput({
        name: `new ${name}: a negative seed`,
        call: construct({ seed: -1 }),
        error: ValueError,
        message: 'opts.seed: expected an integer ≥ 0',
      }),
      badInput({
        name: `new ${name}: weights past the element limit`,
        call: construct({ dModel: 65536, heads: 64, headDim: 128 }),
        error: ValueError,
        message: 'opts (q_proj/k_proj weight [H·Dk, dModel]): expected at most 268435456 elements',
      }),
      badInput({
        name: `${name}.forward: x of the wrong width`,
        inputs: () => tf.zeros([1, 3, 6]),
        call: (x) => layer.forward(x),
        error: ShapeError,
        message: 'x: expected dimension 2 to be 8, received shape [1, 3, 6]',
      }),
      badInput({
        name: `${name}.forward: a disposed x`,
        call: () => layer.forward(disposed([1, 3, 8])),
        error: ValueError,
        message: 'x: expected a live tensor, received a disposed Tensor<float32>[1, 3, 8]',
      }),
      badInput({
        name: `${name}.forward: the state passed where the options go (the 0.1 call)`,
        inputs: () => ({ x: tf.zeros([1, 3, 8]), state: layer.zeroState(1) }),
        call: ({ x, state }) => layer.forward(x, state as never),
        error: ValueError,
        message: 'opts.convQ: expected one of the known options (initialState), received an unknown option',
      }),
      badInput({
        name: `${name}.forward: an initial state of another batch`,
        inputs: () => ({ x: tf.zeros([2, 3, 8]), state: layer.zeroState(1) }),
        call: ({ x, state }) => layer.forward(x, { initialState: state }),
        error: ShapeError,
        message: 'opts.initialState.convQ: expected dimension 0 (B) to be 2 as bound by an earlier argument, received shape [1, 3, 8]',
      }),
      badInput({
        name: `${name}.forward: an initial state that is a tensor`,
        inputs: () => ({ x: tf.zeros([1, 3, 8]), state: tf.zeros([1, 2, 4, 4]) }),
        call: ({ x, state }) => layer.forward(x, { initialState: state as never }),
        error: ValueError,
        message: 'opts.initialState: expected { convQ, convK, convV, recurrent }, received Tensor<float32>[1, 2, 4, 4]',
      }),
      badInput({
        name: `${name}.step: xt with an L axis`,
        inputs: () => tf.zeros([1, 1, 8]),
        call: (xt) => layer.step(xt),
        error: ShapeError,
        message: 'xt: expected rank 2 [B, 8], received rank 3 [1, 1, 8]',
      }),
      badInput({
        name: `${name}.step: a recurrent state of the wrong size`,
        inputs: () => {
          const state = layer.zeroState(1);
          state.recurrent.dispose();
          return { xt: tf.zeros([1, 8]), state: { ...state, recurrent: tf.zeros([1, 2, 4, 3]) } };
        },
        call: ({ xt, state }) => layer.step(xt, { initialState: state }),
        error: ShapeError,
        message: 'opts.initialState.recurrent: expected dimension 3 to be',
      }),
      badInput({
        name: `${name}.zeroState: batch 0`,
        call: () => layer.zeroState(0),
        error: ValueError,
        message: 'batch: expected an integer ≥ 1',
      }),
      badInput({
        name: `${name}.zeroState: a state past the element limit`,
        call: () => layer.zeroState(2 ** 26),
        error: ValueError,
        message: 'batch (the recurrent state [batch, HV, Dk, Dv]): expected at most 268435456 elements',
      }),
    ]);
  });
}

const MAMBA3_CONFIG =
  'dModel, dState, headDim, expand, rank, ropeFraction, dtMin, dtMax, dtInitFloor, aFloor, chunkSize, ngroups, outprojNorm, seed';

describe('bad input: Mamba3', () => {
  const layer = new Mamba3({ dModel: 8, dState: 4, headDim: 4 });
  afterAll(() => layer.dispose());
  const construct = (config: unknown) => () => new Mamba3(config as never);
  itRejects([
    badInput({
      name: 'new Mamba3(null)',
      call: construct(null),
      error: ValueError,
      message: `config: expected an options object { ${MAMBA3_CONFIG} }, received null`,
    }),
    badInput({
      name: 'new Mamba3: a misspelt option',
      call: construct({ dmodel: 8 }),
      error: ValueError,
      message: `config.dmodel: expected one of the known options (${MAMBA3_CONFIG}), received an unknown option (did you mean dModel?)`,
    }),
    // checked before any weight exists: the row's tensor count proves nothing leaks
    badInput({
      name: 'new Mamba3: dtMin 0',
      call: construct({ dtMin: 0 }),
      error: ValueError,
      message: 'config.dtMin: expected a finite number > 0, received 0',
    }),
    badInput({
      name: 'new Mamba3: dtMax below dtMin',
      call: construct({ dtMin: 0.1, dtMax: 0.01 }),
      error: ValueError,
      message: 'config.dtMax: expected a finite number ≥ 0.1, received 0.01 (dtMax must be at least dtMin)',
    }),
    badInput({
      name: 'new Mamba3: a head dim that does not divide d_inner',
      call: construct({ dModel: 16, headDim: 6 }),
      error: ValueError,
      message: 'config.headDim: expected a divisor of d_inner = expand·dModel = 32, received 6',
    }),
    badInput({
      name: 'new Mamba3: ropeFraction 0.25',
      call: construct({ ropeFraction: 0.25 }),
      error: ValueError,
      message: 'config.ropeFraction: expected 0.5 or 1, received 0.25',
    }),
    badInput({
      name: 'new Mamba3: rank 0',
      call: construct({ rank: 0 }),
      error: ValueError,
      message: 'config.rank: expected an integer ≥ 1 and ≤ 64, received 0',
    }),
    badInput({
      name: 'new Mamba3: dState 3 (no rotated pair)',
      call: construct({ dState: 3 }),
      error: ValueError,
      message: 'config.dState: expected at least one rotated pair, received dState 3',
    }),
    badInput({
      name: 'new Mamba3: chunkSize 0',
      call: construct({ chunkSize: 0 }),
      error: ValueError,
      message: 'config.chunkSize: expected an integer ≥ 1 and ≤ 256, received 0',
    }),
    badInput({
      name: 'new Mamba3: weights past the element limit',
      call: construct({ dModel: 65536, headDim: 64 }),
      error: ValueError,
      message: 'config (in_proj weight): expected at most 268435456 elements',
    }),
    badInput({
      name: 'Mamba3.forward: x of the wrong width',
      inputs: () => tf.zeros([1, 3, 7]),
      call: (x) => layer.forward(x),
      error: ShapeError,
      message: 'x: expected dimension 2 to be 8, received shape [1, 3, 7]',
    }),
    badInput({
      name: 'Mamba3.forward: a disposed x',
      call: () => layer.forward(disposed([1, 3, 8])),
      error: ValueError,
      message: 'x: expected a live tensor, received a disposed Tensor<float32>[1, 3, 8]',
    }),
    badInput({
      name: 'Mamba3.forward: an initial state of another batch',
      inputs: () => ({ x: tf.zeros([1, 3, 8]), state: layer.zeroState(2) }),
      call: ({ x, state }) => layer.forward(x, { initialState: state }),
      error: ShapeError,
      message: 'opts.initialState.ssm: expected dimension 0 to be 1, received shape [2, 4, 4, 4]',
    }),
    badInput({
      name: 'Mamba3.forward: the state passed where the options go (the 0.1 call)',
      inputs: () => ({ x: tf.zeros([1, 3, 8]), state: layer.zeroState(1) }),
      call: ({ x, state }) => layer.forward(x, state as never),
      error: ValueError,
      message: 'opts.ssm: expected one of the known options (initialState), received an unknown option',
    }),
    badInput({
      name: 'Mamba3.step: xt with an L axis',
      inputs: () => tf.zeros([1, 3, 8]),
      call: (xt) => layer.step(xt),
      error: ShapeError,
      message: 'xt: expected rank 2 [B, 8], received rank 3 [1, 3, 8]',
    }),
    badInput({
      name: 'Mamba3.step: an unknown option',
      inputs: () => tf.zeros([1, 8]),
      call: (xt) => layer.step(xt, { state: undefined } as never),
      error: ValueError,
      message: 'opts.state: expected one of the known options (initialState), received an unknown option',
    }),
    badInput({
      name: 'Mamba3.zeroState: batch −1',
      call: () => layer.zeroState(-1),
      error: ValueError,
      message: 'batch: expected an integer ≥ 1',
    }),
  ]);
});

describe('bad input: Linear', () => {
  const linear = new Linear(3, 2);
  afterAll(() => linear.dispose());
  itRejects([
    badInput({
      name: 'new Linear: inFeatures 0',
      call: () => new Linear(0, 2),
      error: ValueError,
      message: 'inFeatures: expected an integer ≥ 1',
    }),
    badInput({
      name: 'new Linear: a misspelt option',
      call: () => new Linear(2, 2, { bais: true } as never),
      error: ValueError,
      message: 'opts.bais: expected one of the known options (bias, seed), received an unknown option (did you mean bias?)',
    }),
    badInput({
      name: 'new Linear: a bias that is not a boolean',
      call: () => new Linear(2, 2, { bias: 1 } as never),
      error: ValueError,
      message: 'opts.bias: expected true or false, received 1',
    }),
    badInput({
      name: 'new Linear: a weight past the element limit',
      call: () => new Linear(65536, 65536),
      error: ValueError,
      message:
        'inFeatures · outFeatures (the weight [out, in]): expected at most 268435456 elements (2^28, 1 GiB of float32), received shape [65536, 65536]',
    }),
    badInput({
      name: 'Linear.forward: x of the wrong width',
      inputs: () => tf.zeros([2, 4]),
      call: (x) => linear.forward(x),
      error: ShapeError,
      message: 'x: expected dimension 1 to be 3, received shape [2, 4]',
    }),
    badInput({
      name: 'Linear.forward: a scalar',
      inputs: () => tf.scalar(1),
      call: (x) => linear.forward(x),
      error: ShapeError,
      message: 'x: expected rank 1 [3], received rank 0 []',
    }),
    badInput({
      name: 'Linear.forward: not a tensor',
      call: () => linear.forward([1, 2, 3] as never),
      error: ShapeError,
      message: 'x: expected a tensor of shape [3], received [1, 2, 3]',
    }),
  ]);
});

describe('bad input: RMSNorm and GatedRMSNorm', () => {
  const norm = new RMSNorm(4);
  const gated = new GatedRMSNorm(4);
  afterAll(() => {
    norm.dispose();
    gated.dispose();
  });
  itRejects([
    badInput({ name: 'new RMSNorm: dim 0', call: () => new RMSNorm(0), error: ValueError, message: 'dim: expected an integer ≥ 1' }),
    badInput({
      name: 'new RMSNorm: eps 0',
      call: () => new RMSNorm(4, { eps: 0 }),
      error: ValueError,
      message: 'opts.eps: expected a finite number > 0, received 0',
    }),
    badInput({
      name: 'new GatedRMSNorm: an unknown option',
      call: () => new GatedRMSNorm(4, { epsilon: 1e-6 } as never),
      error: ValueError,
      message: 'opts.epsilon: expected one of the known options (eps), received an unknown option',
    }),
    badInput({
      name: 'RMSNorm.forward: x of the wrong width',
      inputs: () => tf.zeros([2, 3]),
      call: (x) => norm.forward(x),
      error: ShapeError,
      message: 'x: expected dimension 1 to be 4, received shape [2, 3]',
    }),
    badInput({
      name: 'GatedRMSNorm.forward: a gate of another shape',
      inputs: () => ({ x: tf.zeros([1, 4]), gate: tf.zeros([1, 3]) }),
      call: ({ x, gate }) => gated.forward(x, gate),
      error: ShapeError,
      message: 'gate: expected the shape of x [1, 4], received [1, 3]',
    }),
    badInput({
      name: 'GatedRMSNorm.forward: a disposed gate',
      inputs: () => tf.zeros([1, 4]),
      call: (x) => gated.forward(x, disposed([1, 4])),
      error: ValueError,
      message: 'gate: expected a live tensor, received a disposed Tensor<float32>[1, 4]',
    }),
  ]);
});

describe('bad input: ShortConvolution', () => {
  const conv = new ShortConvolution(4);
  afterAll(() => conv.dispose());
  itRejects([
    badInput({
      name: 'new ShortConvolution: kernelSize 0',
      call: () => new ShortConvolution(4, { kernelSize: 0 }),
      error: ValueError,
      message: 'opts.kernelSize: expected an integer ≥ 1 and ≤ 64, received 0',
    }),
    badInput({
      name: 'new ShortConvolution: silu that is not a boolean',
      call: () => new ShortConvolution(4, { silu: 'no' } as never),
      error: ValueError,
      message: 'opts.silu: expected true or false, received "no"',
    }),
    badInput({
      name: 'new ShortConvolution: a misspelt option',
      call: () => new ShortConvolution(4, { kernel: 3 } as never),
      error: ValueError,
      message: 'opts.kernel: expected one of the known options (kernelSize, silu, seed), received an unknown option',
    }),
    badInput({
      name: 'ShortConvolution.forward: x of the wrong width',
      inputs: () => tf.zeros([1, 3, 5]),
      call: (x) => conv.forward(x),
      error: ShapeError,
      message: 'x: expected dimension 2 to be 4, received shape [1, 3, 5]',
    }),
    badInput({
      name: 'ShortConvolution.forward: a state of another batch',
      inputs: () => ({ x: tf.zeros([1, 3, 4]), state: tf.zeros([2, 3, 4]) }),
      call: ({ x, state }) => conv.forward(x, { initialState: state }),
      error: ShapeError,
      message: 'opts.initialState: expected dimension 0 (B) to be 1 as bound by an earlier argument, received shape [2, 3, 4]',
    }),
    badInput({
      name: 'ShortConvolution.forward: the state passed where the options go (the 0.1 call)',
      inputs: () => ({ x: tf.zeros([1, 3, 4]), state: tf.zeros([1, 3, 4]) }),
      call: ({ x, state }) => conv.forward(x, state as never),
      error: ValueError,
      message: 'opts: expected an options object { initialState }, received Tensor<float32>[1, 3, 4]',
    }),
    badInput({
      name: 'ShortConvolution.step: a state of the wrong width',
      inputs: () => ({ xt: tf.zeros([1, 4]), state: tf.zeros([1, 2, 4]) }),
      call: ({ xt, state }) => conv.step(xt, { initialState: state }),
      error: ShapeError,
      message: 'opts.initialState: expected dimension 1 to be 3, received shape [1, 2, 4]',
    }),
    badInput({
      name: 'ShortConvolution.zeroState: batch 1.5',
      call: () => conv.zeroState(1.5),
      error: ValueError,
      message: 'batch: expected an integer ≥ 1 and ≤ 268435456, received 1.5',
    }),
  ]);
});

describe('bad input: l2Normalize', () =>
  itRejects([
    badInput({
      name: 'l2Normalize: not a tensor',
      call: () => l2Normalize(3 as never),
      error: ShapeError,
      message: 'x: expected a tensor of shape [*], received 3',
    }),
    badInput({
      name: 'l2Normalize: a scalar',
      inputs: () => tf.scalar(3),
      call: (x) => l2Normalize(x),
      error: ShapeError,
      message: 'x: expected rank 1 [*], received rank 0 []',
    }),
    badInput({
      name: 'l2Normalize: an int32 tensor',
      inputs: () => tf.zeros([2], 'int32'),
      call: (x) => l2Normalize(x),
      error: DtypeError,
      message: 'x: expected dtype float32, received int32',
    }),
    badInput({
      name: 'l2Normalize: a disposed tensor',
      call: () => l2Normalize(disposed([2, 3])),
      error: ValueError,
      message: 'x: expected a live tensor, received a disposed Tensor<float32>[2, 3]',
    }),
  ]));

/** The committed tied DeltaNet LM fixture, with its weights edited by `edit` (names → tensors, edited in place). */
const LM_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fla-transcribed', 'lm-delta_net');
const LM_CONFIG = JSON.parse(readFileSync(join(LM_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
const LM_BYTES = new Uint8Array(readFileSync(join(LM_DIR, 'model.safetensors')));

async function editedWeights(edit: (t: Record<string, Tensor>) => void): Promise<Uint8Array> {
  const t = readSafetensors(LM_BYTES);
  try {
    edit(t);
    return await writeSafetensors(t);
  } finally {
    tf.dispose(Object.values(t));
  }
}

describe('bad input: loadCausalLM, saveCheckpoint and the fla configs', () =>
  itRejects([
    badInput({
      name: 'loadCausalLM: a model_type this build lacks',
      call: () => loadCausalLM({ config: { ...LM_CONFIG, model_type: 'mamba' }, files: { 'model.safetensors': LM_BYTES } }),
      error: TesseraError,
      message: 'config.model_type: expected "delta_net" or "gated_deltanet" (what this build supports), received "mamba"',
    }),
    badInput({
      name: 'loadCausalLM: an attention-hybrid config',
      call: () => loadCausalLM({ config: { ...LM_CONFIG, attn: { layers: [1], num_heads: 4 } }, files: { 'model.safetensors': LM_BYTES } }),
      error: TesseraError,
      message: 'config.attn: expected null (no attention-hybrid layers) (what this build supports), received',
    }),
    badInput({
      name: "loadCausalLM: qk_activation 'relu'",
      call: () => loadCausalLM({ config: { ...LM_CONFIG, qk_activation: 'relu' }, files: { 'model.safetensors': LM_BYTES } }),
      error: TesseraError,
      message: 'config.qk_activation: expected "silu" (what this build supports), received "relu"',
    }),
    badInput({
      name: "loadCausalLM: hidden_act 'powlu'",
      call: () => loadCausalLM({ config: { ...LM_CONFIG, hidden_act: 'powlu' }, files: { 'model.safetensors': LM_BYTES } }),
      error: TesseraError,
      message: 'config.hidden_act: expected "swish" (what this build supports), received "powlu"',
    }),
    badInput({
      name: 'loadCausalLM: missing and extra tensors, all named',
      call: async () =>
        loadCausalLM({
          config: LM_CONFIG,
          files: {
            'model.safetensors': await editedWeights((t) => {
              tf.dispose([t['model.norm.weight'] as Tensor, t['model.layers.1.attn.b_proj.weight'] as Tensor]);
              delete t['model.norm.weight'];
              delete t['model.layers.1.attn.b_proj.weight'];
              t['model.layers.0.attn.extra'] = tf.zeros([2]);
              t['model.layers.9.attn_norm.weight'] = tf.zeros([64]);
            }),
          },
        }),
      error: TesseraError,
      message:
        'missing tensors: model.layers.1.attn.b_proj.weight, model.norm.weight; unexpected tensors: model.layers.0.attn.extra, model.layers.9.attn_norm.weight',
    }),
    badInput({
      name: 'loadCausalLM: tensors of the wrong shape, each named with both shapes',
      call: async () =>
        loadCausalLM({
          config: LM_CONFIG,
          files: {
            'model.safetensors': await editedWeights((t) => {
              (t['model.norm.weight'] as Tensor).dispose();
              t['model.norm.weight'] = tf.ones([63]);
              (t['model.layers.0.attn.q_conv1d.weight'] as Tensor).dispose();
              t['model.layers.0.attn.q_conv1d.weight'] = tf.ones([64, 4]);
            }),
          },
        }),
      error: ShapeError,
      message:
        'model.layers.0.attn.q_conv1d.weight: expected [64, 1, 4], received [64, 4]; model.norm.weight: expected [64], received [63]',
    }),
    badInput({
      name: 'loadCausalLM: a truncated model.safetensors',
      call: () => loadCausalLM({ config: LM_CONFIG, files: { 'model.safetensors': LM_BYTES.slice(0, LM_BYTES.length - 10) } }),
      error: FormatError,
      message: 'model.safetensors: ',
    }),
    badInput({
      name: 'loadCausalLM: no weight file',
      call: () => loadCausalLM({ config: LM_CONFIG, files: {} }),
      error: ValueError,
      message: 'files: expected "model.safetensors" or "model.safetensors.index.json" as a Uint8Array, received the names none',
    }),
    badInput({
      name: 'loadCausalLM: a shard the index names but the files lack',
      call: () =>
        loadCausalLM({
          config: LM_CONFIG,
          files: { 'model.safetensors.index.json': new TextEncoder().encode('{"weight_map":{"model.norm.weight":"a.safetensors"}}') },
        }),
      error: ValueError,
      message: 'files["a.safetensors"]: expected the shard\'s bytes (named by model.safetensors.index.json), received undefined',
    }),
    badInput({
      name: 'loadCausalLM: a number as the source',
      call: () => loadCausalLM(3 as never),
      error: ValueError,
      message: 'source: expected a checkpoint directory or { config, files }, received 3',
    }),
    badInput({
      name: 'loadCausalLM: a directory without config.json',
      call: () => loadCausalLM('/nonexistent-tessera-dir'),
      error: ValueError,
      message: 'source: expected a checkpoint directory holding config.json, received "/nonexistent-tessera-dir"',
    }),
    badInput({
      name: 'new FlaCausalLM: vocab_size 0',
      call: () => new FlaCausalLM({ ...LM_CONFIG, vocab_size: 0 }),
      error: ValueError,
      message: 'config.vocab_size: expected a positive integer, received 0',
    }),
    badInput({
      name: 'saveCheckpoint: not a model',
      call: () => saveCheckpoint({} as never, '/tmp/x'),
      error: ValueError,
      message: 'model: expected a FlaCausalLM or MambaLM (from loadCausalLM / loadMambaLM), received',
    }),
    badInput({
      name: "DeltaNet.fromFlaConfig: qk_norm 'sum'",
      call: () => DeltaNet.fromFlaConfig({ hidden_size: 16, qk_norm: 'sum' }),
      error: TesseraError,
      message: 'config.qk_norm: expected "l2" (what this build supports), received "sum"',
    }),
    badInput({
      name: 'DeltaNet.fromFlaConfig: num_heads that does not divide the key width',
      call: () => DeltaNet.fromFlaConfig({ hidden_size: 16, num_heads: 3 }),
      error: ValueError,
      message: 'config.num_heads: expected a divisor of int(hidden_size · expand_k) = 16, received 3',
    }),
    badInput({
      name: 'DeltaNet.fromFlaConfig: a misspelt key',
      call: () => DeltaNet.fromFlaConfig({ hidden: 16 } as never),
      error: ValueError,
      message: 'config.hidden: expected one of the known options',
    }),
    badInput({
      name: 'GatedDeltaNet.fromFlaConfig: num_v_heads not a multiple of num_heads',
      call: () => GatedDeltaNet.fromFlaConfig({ hidden_size: 16, head_dim: 4, num_heads: 2, num_v_heads: 3 }),
      error: ValueError,
      message: 'config.num_v_heads: expected a multiple of num_heads (2), received 3',
    }),
    badInput({
      name: 'GatedDeltaNet.fromFlaConfig: use_short_conv false',
      call: () => GatedDeltaNet.fromFlaConfig({ hidden_size: 16, head_dim: 4, num_heads: 2, use_short_conv: false }),
      error: TesseraError,
      message: 'config.use_short_conv: expected true (what this build supports), received false',
    }),
    badInput({
      name: 'new GatedDeltaNet: numVHeads not a multiple of heads',
      call: () => new GatedDeltaNet({ dModel: 8, heads: 2, headDim: 4, numVHeads: 3 }),
      error: ValueError,
      message: 'opts.numVHeads: expected a multiple of heads (2), received 3',
    }),
    badInput({
      name: 'new DeltaNet: numVHeads (a GatedDeltaNet option)',
      call: () => new DeltaNet({ numVHeads: 4 } as never),
      error: ValueError,
      message: 'opts.numVHeads: expected one of the known options',
    }),
  ]));

/** The committed tied Mamba-3 LM fixture (mamba_reference.py). */
const MAMBA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mamba-transcribed', 'lm-mamba3');
const MAMBA_CONFIG = JSON.parse(readFileSync(join(MAMBA_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
const MAMBA_BYTES = new Uint8Array(readFileSync(join(MAMBA_DIR, 'model.safetensors')));
const MAMBA_SSM = MAMBA_CONFIG.ssm_cfg as Record<string, unknown>;

async function editedMamba(edit: (t: Record<string, Tensor>) => void): Promise<Uint8Array> {
  const t = readSafetensors(MAMBA_BYTES);
  try {
    edit(t);
    return await writeSafetensors(t);
  } finally {
    tf.dispose(Object.values(t));
  }
}

describe('bad input: loadMambaLM, MambaLM and Mamba3.fromMambaConfig', () =>
  itRejects([
    badInput({
      name: 'loadMambaLM: attention layers in attn_layer_idx',
      call: () => loadMambaLM({ config: { ...MAMBA_CONFIG, attn_layer_idx: [1] }, files: { 'model.safetensors': MAMBA_BYTES } }),
      error: TesseraError,
      message: 'config.attn_layer_idx: expected [] (no attention layers) (what this build supports), received',
    }),
    badInput({
      name: 'loadMambaLM: a Mamba-2 mixer',
      call: () =>
        loadMambaLM({
          config: { ...MAMBA_CONFIG, ssm_cfg: { ...MAMBA_SSM, layer: 'Mamba2' } },
          files: { 'model.safetensors': MAMBA_BYTES },
        }),
      error: TesseraError,
      message: 'config.ssm_cfg.layer: expected "Mamba3" (what this build supports), received "Mamba2"',
    }),
    badInput({
      name: 'loadMambaLM: no ssm_cfg.layer (mamba_ssm then builds Mamba1)',
      call: () => loadMambaLM({ config: { ...MAMBA_CONFIG, ssm_cfg: { d_state: 16 } }, files: { 'model.safetensors': MAMBA_BYTES } }),
      error: TesseraError,
      message: 'config.ssm_cfg.layer: expected "Mamba3" (what this build supports), received "Mamba1 (the default)"',
    }),
    badInput({
      name: 'loadMambaLM: a MIMO mixer',
      call: () =>
        loadMambaLM({
          config: { ...MAMBA_CONFIG, ssm_cfg: { ...MAMBA_SSM, is_mimo: true, mimo_rank: 4 } },
          files: { 'model.safetensors': MAMBA_BYTES },
        }),
      error: TesseraError,
      message: 'config.ssm_cfg.is_mimo: expected false',
    }),
    badInput({
      name: 'loadMambaLM: a key MambaConfig lacks',
      call: () => loadMambaLM({ config: { ...MAMBA_CONFIG, norm_epsilon: 1e-6 }, files: { 'model.safetensors': MAMBA_BYTES } }),
      error: ValueError,
      message: 'config: expected only MambaConfig keys',
    }),
    badInput({
      name: 'loadMambaLM: missing and extra tensors, all named',
      call: async () =>
        loadMambaLM({
          config: MAMBA_CONFIG,
          files: {
            'model.safetensors': await editedMamba((t) => {
              tf.dispose([t['backbone.norm_f.weight'] as Tensor, t['backbone.layers.1.mixer.D'] as Tensor]);
              delete t['backbone.norm_f.weight'];
              delete t['backbone.layers.1.mixer.D'];
              t['backbone.layers.0.mixer.mimo_x'] = tf.zeros([2]);
              t['backbone.layers.2.norm.weight'] = tf.zeros([64]);
            }),
          },
        }),
      error: TesseraError,
      message:
        'missing tensors: backbone.layers.1.mixer.D, backbone.norm_f.weight; unexpected tensors: backbone.layers.0.mixer.mimo_x, backbone.layers.2.norm.weight',
    }),
    badInput({
      name: 'loadMambaLM: tensors of the wrong shape, each named with both shapes',
      call: async () =>
        loadMambaLM({
          config: MAMBA_CONFIG,
          files: {
            'model.safetensors': await editedMamba((t) => {
              (t['backbone.layers.0.mixer.B_bias'] as Tensor).dispose();
              t['backbone.layers.0.mixer.B_bias'] = tf.ones([8, 16]);
              (t['lm_head.weight'] as Tensor).dispose();
              t['lm_head.weight'] = tf.ones([250, 64]);
            }),
          },
        }),
      error: ShapeError,
      message:
        'backbone.layers.0.mixer.B_bias: expected [8, 1, 16], received [8, 16]; lm_head.weight: expected [256, 64], received [250, 64]',
    }),
    badInput({
      name: 'loadMambaLM: a truncated model.safetensors',
      call: () => loadMambaLM({ config: MAMBA_CONFIG, files: { 'model.safetensors': MAMBA_BYTES.slice(0, MAMBA_BYTES.length - 10) } }),
      error: FormatError,
      message: 'model.safetensors:',
    }),
    badInput({
      name: 'loadMambaLM: a directory without config.json',
      call: () => loadMambaLM('/nonexistent-tessera-dir'),
      error: ValueError,
      message: 'source: expected a checkpoint directory holding config.json, received "/nonexistent-tessera-dir"',
    }),
    badInput({
      name: 'new MambaLM: n_layer 0',
      call: () => new MambaLM({ ...MAMBA_CONFIG, n_layer: 0 }),
      error: ValueError,
      message: 'config.n_layer: expected a positive integer, received 0',
    }),
    badInput({
      name: 'Mamba3.fromMambaConfig: ngroups that does not divide the heads',
      call: () => Mamba3.fromMambaConfig({ d_model: 32, d_state: 16, headdim: 16, ngroups: 3 }),
      error: ValueError,
      message: 'config.ngroups: expected a divisor of the head count 4, received 3',
    }),
    badInput({
      name: 'Mamba3.fromMambaConfig: rope_fraction 0.25',
      call: () => Mamba3.fromMambaConfig({ d_model: 32, rope_fraction: 0.25 }),
      error: TesseraError,
      message: 'config.rope_fraction: expected 0.5 or 1 (as mamba_ssm asserts) (what this build supports), received 0.25',
    }),
    badInput({
      name: 'Mamba3.fromMambaConfig: no d_model',
      call: () => Mamba3.fromMambaConfig({ d_state: 16 }),
      error: ValueError,
      message: 'config.d_model: expected a positive integer, received undefined',
    }),
  ]));
