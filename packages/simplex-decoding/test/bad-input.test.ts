import { DtypeError, ShapeError, type Tensor, tf, ValueError } from '@tessera/tensor-core';
import { badInput, type ErasedBadInputCase, itRejects } from '@tessera/tensor-core/testing';
import { describe } from 'vitest';
import {
  BOK_MAX_STEPS,
  bestOfK,
  bokObjective,
  type BestOfKOptions,
  continuationSeed,
  coverageCurvature,
  createSampler,
  defaultStepSize,
  entmax,
  epsilon,
  GENERATE_MAX_TOKENS,
  generate,
  greedy,
  type KktObjective,
  kkt,
  MIRROR_ASCENT_MAX_STEPS,
  minP,
  mirrorAscent,
  SAMPLE_N_MAX,
  type SamplerSpec,
  type StepModel,
  sample,
  sampleFromLogits,
  sampleN,
  softmax,
  sparsemax,
  topK,
  topP,
  typical,
} from '../src/index.js';
import { bigram, INF } from './cases.js';

/*
 * One table per public function (the probe of issue 10, kept): each row is an input that must raise a
 * named error — the argument, what was expected, what was received — and leave no tensor behind.
 * Options and shapes do not depend on the backend, so the tables run on the CPU.
 */

const logits = () => tf.zeros([2, 4]);

// Kept for the whole file, so that a row whose call needs a second, valid tensor builds nothing inside
// the counted call.
const ROW2 = tf.zeros([2]);
const ONES2 = tf.ones([2]);
const S24 = tf.zeros([2, 4]);

/** The rows every function taking logits `[B, V] | [V]` shares, for `call(logits)`. */
function logitsRows(name: string, call: (x: Tensor) => unknown, arg = 'logits'): ErasedBadInputCase[] {
  return [
    badInput({
      name: `${name}: ${arg} that is not a tensor`,
      call: () => call([1, 2] as never),
      error: ShapeError,
      message: `${arg}: expected a tensor of shape [B, V] or [V], received [1, 2]`,
    }),
    badInput({
      name: `${name}: a disposed ${arg} tensor`,
      call: () => {
        const t = tf.zeros([2, 3]);
        t.dispose();
        return call(t);
      },
      error: ValueError,
      message: `${arg}: expected a live tensor, received a disposed Tensor<float32>[2, 3]`,
    }),
    badInput({
      name: `${name}: ${arg} of rank 3`,
      inputs: () => tf.zeros([1, 2, 3]),
      call: (x) => call(x),
      error: ShapeError,
      message: `${arg}: expected shape [B, V] or [V], received rank 3 [1, 2, 3]`,
    }),
    badInput({
      name: `${name}: ${arg} with V = 0`,
      inputs: () => tf.zeros([2, 0]),
      call: (x) => call(x),
      error: ShapeError,
      message: `${arg}: expected B ≥ 1 and V ≥ 1, received shape [2, 0]`,
    }),
    badInput({
      name: `${name}: int32 ${arg}`,
      inputs: () => tf.zeros([2, 3], 'int32'),
      call: (x) => call(x),
      error: DtypeError,
      message: `${arg}: expected dtype float32, received int32`,
    }),
  ];
}

/** Rows for an options object: not an object, and a misspelt key (with its did-you-mean, if any). */
function optionRows(name: string, call: (opts: unknown) => unknown, typo: string, known: string, near?: string): ErasedBadInputCase[] {
  const hint = near === undefined ? '' : ` (did you mean ${near}?)`;
  return [
    badInput({
      name: `${name}: options that are not an object`,
      call: () => call(3),
      error: ValueError,
      message: 'opts: expected an options object {',
    }),
    badInput({
      name: `${name}: the unknown option ${typo}`,
      call: () => call({ [typo]: 1 }),
      error: ValueError,
      message: `opts.${typo}: expected one of the known options (${known}), received an unknown option${hint}`,
    }),
  ];
}

/** A row whose call must reject `error` with `message` on logits `[2, 4]`. */
function row<T>(name: string, call: (x: Tensor) => T, error: typeof ValueError | typeof ShapeError | typeof DtypeError, message: string) {
  return badInput({ name, inputs: logits, call, error, message });
}

const TEMPERATURE_0 = 'temperature: expected a finite number > 0, received 0 (for temperature 0 use greedy())';

describe('greedy: bad input', () => {
  itRejects([...logitsRows('greedy', (x) => greedy(x)), ...optionRows('greedy', (o) => greedy(ROW2, o as never), 'temperature', 'none')]);
});

describe('softmax (tensor-core’s): bad input', () => {
  itRejects([
    ...logitsRows('softmax', (x) => softmax(x)),
    ...optionRows('softmax', (o) => softmax(ROW2, o as never), 'temprature', 'temperature', 'temperature'),
    row('softmax: temperature 0', (x) => softmax(x, { temperature: 0 }), ValueError, TEMPERATURE_0),
  ]);
});

describe('topK: bad input', () => {
  itRejects([
    ...logitsRows('topK', (x) => topK(x, { k: 1 })),
    ...optionRows('topK', (o) => topK(ROW2, o as never), 'temprature', 'k, temperature', 'temperature'),
    row('topK: no k', (x) => topK(x, undefined as never), ValueError, 'k: expected an integer ≥ 1 and ≤ 4, received undefined (V = 4)'),
    row('topK: k = 0', (x) => topK(x, { k: 0 }), ValueError, 'k: expected an integer ≥ 1 and ≤ 4, received 0 (V = 4)'),
    row('topK: k > V', (x) => topK(x, { k: 5 }), ValueError, 'k: expected an integer ≥ 1 and ≤ 4, received 5'),
    row('topK: a fractional k', (x) => topK(x, { k: 2.5 }), ValueError, 'received 2.5'),
    row('topK: temperature 0', (x) => topK(x, { k: 1, temperature: 0 }), ValueError, TEMPERATURE_0),
  ]);
});

describe('topP: bad input', () => {
  itRejects([
    ...logitsRows('topP', (x) => topP(x, { p: 0.5 })),
    ...optionRows('topP', (o) => topP(ROW2, o as never), 'P', 'p, temperature', 'p'),
    row('topP: p = 0', (x) => topP(x, { p: 0 }), ValueError, 'p: expected a finite number > 0 and ≤ 1, received 0'),
    row('topP: p > 1', (x) => topP(x, { p: 1.01 }), ValueError, 'received 1.01'),
    row('topP: p NaN', (x) => topP(x, { p: Number.NaN }), ValueError, 'p: expected a finite number > 0 and ≤ 1, received NaN'),
    row(
      'topP: temperature −1',
      (x) => topP(x, { p: 0.5, temperature: -1 }),
      ValueError,
      'temperature: expected a finite number > 0, received -1',
    ),
  ]);
});

describe('minP: bad input', () => {
  itRejects([
    ...logitsRows('minP', (x) => minP(x, { pMin: 0.1 })),
    ...optionRows('minP', (o) => minP(ROW2, o as never), 'pmin', 'pMin, temperature', 'pMin'),
    row('minP: pMin < 0', (x) => minP(x, { pMin: -0.1 }), ValueError, 'pMin: expected a finite number ≥ 0 and ≤ 1, received -0.1'),
    row('minP: pMin > 1', (x) => minP(x, { pMin: 1.5 }), ValueError, 'received 1.5'),
    row('minP: temperature 0', (x) => minP(x, { pMin: 0.1, temperature: 0 }), ValueError, TEMPERATURE_0),
  ]);
});

describe('typical: bad input', () => {
  itRejects([
    ...logitsRows('typical', (x) => typical(x, { mass: 0.5 })),
    ...optionRows('typical', (o) => typical(ROW2, o as never), 'temprature', 'mass, temperature', 'temperature'),
    row('typical: mass 0', (x) => typical(x, { mass: 0 }), ValueError, 'mass: expected a finite number > 0 and ≤ 1, received 0'),
    row('typical: mass > 1', (x) => typical(x, { mass: 1.5 }), ValueError, 'received 1.5'),
    row('typical: temperature 0', (x) => typical(x, { mass: 0.5, temperature: 0 }), ValueError, TEMPERATURE_0),
  ]);
});

describe('epsilon: bad input', () => {
  itRejects([
    ...logitsRows('epsilon', (x) => epsilon(x, { eps: 0.1 })),
    ...optionRows('epsilon', (o) => epsilon(ROW2, o as never), 'epsilon', 'eps, temperature'),
    row('epsilon: eps = 1', (x) => epsilon(x, { eps: 1 }), ValueError, 'eps: expected a finite number ≥ 0 and < 1, received 1'),
    row('epsilon: eps < 0', (x) => epsilon(x, { eps: -0.5 }), ValueError, 'received -0.5'),
    row('epsilon: temperature 0', (x) => epsilon(x, { eps: 0.1, temperature: 0 }), ValueError, TEMPERATURE_0),
  ]);
});

describe('sparsemax: bad input', () => {
  itRejects([
    ...logitsRows('sparsemax', (x) => sparsemax(x)),
    ...optionRows('sparsemax', (o) => sparsemax(ROW2, o as never), 'lamda', 'lambda, method', 'lambda'),
    row('sparsemax: λ < 0', (x) => sparsemax(x, { lambda: -1 }), ValueError, 'lambda: expected a finite number > 0, received -1'),
    row('sparsemax: λ = 0', (x) => sparsemax(x, { lambda: 0 }), ValueError, 'received 0 (λ = 0 is greedy decoding: use greedy())'),
    row(
      'sparsemax: an unknown method',
      (x) => sparsemax(x, { method: 'heap' as never }),
      ValueError,
      `method: expected 'sort' or 'bisect', received "heap"`,
    ),
  ]);
});

describe('entmax: bad input', () => {
  itRejects([
    ...logitsRows('entmax', (x) => entmax(x, { alpha: 1.5 })),
    ...optionRows('entmax', (o) => entmax(ROW2, o as never), 'alpah', 'alpha, lambda, iterations', 'alpha'),
    row(
      'entmax: α = 1',
      (x) => entmax(x, { alpha: 1 }),
      ValueError,
      'alpha: expected a finite number > 1, received 1 (α = 1 is softmax: use softmax())',
    ),
    row('entmax: no α', (x) => entmax(x, {} as never), ValueError, 'alpha: expected a finite number > 1, received undefined'),
    row('entmax: λ = 0', (x) => entmax(x, { alpha: 1.5, lambda: 0 }), ValueError, 'lambda: expected a finite number > 0, received 0'),
    row(
      'entmax: 0 iterations',
      (x) => entmax(x, { alpha: 1.5, iterations: 0 }),
      ValueError,
      'iterations: expected an integer ≥ 1 and ≤ 200, received 0',
    ),
    row(
      'entmax: iterations past the limit',
      (x) => entmax(x, { alpha: 1.5, iterations: 1e9 }),
      ValueError,
      'iterations: expected an integer ≥ 1 and ≤ 200, received 1000000000',
    ),
  ]);
});

describe('kkt: bad input', () => {
  const pair = () => ({ q: tf.zeros([2, 4]), s: tf.zeros([2, 4]) });
  const objectiveRow = (name: string, objective: unknown, error: typeof ValueError | typeof ShapeError, message: string) =>
    badInput({ name: `kkt: ${name}`, inputs: pair, call: ({ q, s }) => kkt(q, s, objective as KktObjective), error, message });
  itRejects([
    ...logitsRows('kkt', (s) => kkt(S24, s, { kind: 'greedy' }), 's'),
    ...logitsRows('kkt', (q) => kkt(q, S24, { kind: 'greedy' }), 'q').filter((c) => !c.name.includes('V = 0')),
    badInput({
      name: 'kkt: q and s of different shapes',
      inputs: () => ({ q: tf.zeros([2, 3]), s: tf.zeros([2, 4]) }),
      call: ({ q, s }) => kkt(q, s, { kind: 'greedy' }),
      error: ShapeError,
      message: 'q: expected the shape of s [2, 4], received [2, 3]',
    }),
    objectiveRow(
      'no objective',
      undefined,
      ValueError,
      'objective.kind: expected one of greedy, softmax, topK, topP, minP, typical, epsilon, sparsemax, entmax, kl, received undefined',
    ),
    objectiveRow(
      'an unknown kind',
      { kind: 'beam' },
      ValueError,
      'objective.kind: expected one of greedy, softmax, topK, topP, minP, typical, epsilon, sparsemax, entmax, kl, received "beam"',
    ),
    objectiveRow(
      'a misspelt key',
      { kind: 'softmax', temprature: 0.5 },
      ValueError,
      'objective.temprature: expected one of the known options (kind, temperature), received an unknown option (did you mean temperature?)',
    ),
    objectiveRow(
      'a key of another kind',
      { kind: 'sparsemax', temperature: 0.5 },
      ValueError,
      'objective.temperature: expected one of the known options (kind, lambda)',
    ),
    objectiveRow(
      'temperature 0',
      { kind: 'softmax', temperature: 0 },
      ValueError,
      'objective.temperature: expected a finite number > 0, received 0 (for temperature 0 use greedy())',
    ),
    objectiveRow('k > V', { kind: 'topK', k: 5 }, ValueError, 'objective.k: expected an integer ≥ 1 and ≤ 4, received 5'),
    objectiveRow('p = 0', { kind: 'topP', p: 0 }, ValueError, 'objective.p: expected a finite number > 0 and ≤ 1, received 0'),
    objectiveRow('pMin > 1', { kind: 'minP', pMin: 2 }, ValueError, 'objective.pMin: expected a finite number ≥ 0 and ≤ 1, received 2'),
    objectiveRow('mass 0', { kind: 'typical', mass: 0 }, ValueError, 'objective.mass: expected a finite number > 0 and ≤ 1, received 0'),
    objectiveRow('eps = 1', { kind: 'epsilon', eps: 1 }, ValueError, 'objective.eps: expected a finite number ≥ 0 and < 1, received 1'),
    objectiveRow('λ < 0', { kind: 'sparsemax', lambda: -1 }, ValueError, 'objective.lambda: expected a finite number > 0, received -1'),
    objectiveRow(
      'α = 1',
      { kind: 'entmax', alpha: 1 },
      ValueError,
      'objective.alpha: expected a finite number > 1, received 1 (α = 1 is softmax: use kind softmax)',
    ),
    badInput({
      name: 'kkt: a kl reference of the wrong shape',
      inputs: () => ({ ...pair(), reference: tf.zeros([4]) }),
      call: ({ q, s, reference }) => kkt(q, s, { kind: 'kl', reference }),
      error: ShapeError,
      message: 'objective.reference: expected the shape of s [2, 4], received [4]',
    }),
  ]);
});

describe('sample: bad input', () => {
  const q = () => tf.tensor2d([[0.5, 0.5]]);
  itRejects([
    ...logitsRows('sample', (x) => sample(x, { seed: 1 }), 'q'),
    ...optionRows('sample', (o) => sample(ONES2, o as never), 'sed', 'seed, offset', 'seed'),
    badInput({
      name: 'sample: no seed',
      inputs: q,
      call: (x) => sample(x, undefined as never),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received undefined',
    }),
    badInput({
      name: 'sample: a negative seed',
      inputs: q,
      call: (x) => sample(x, { seed: -1 }),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received -1',
    }),
    badInput({
      name: 'sample: a fractional seed',
      inputs: q,
      call: (x) => sample(x, { seed: 1.5 }),
      error: ValueError,
      message: 'received 1.5',
    }),
    badInput({
      name: 'sample: a NaN offset',
      inputs: q,
      call: (x) => sample(x, { seed: 1, offset: Number.NaN }),
      error: ValueError,
      message: 'offset: expected an integer ≥ 0 and ≤ 9007199254740991, received NaN',
    }),
  ]);
});

describe('sampleFromLogits: bad input', () => {
  const x3 = () => tf.tensor2d([[1, 2, 3]]);
  const r = (name: string, opts: unknown, message: string) =>
    badInput({
      name: `sampleFromLogits: ${name}`,
      inputs: x3,
      call: (x) => sampleFromLogits(x, opts as never),
      error: ValueError,
      message,
    });
  itRejects([
    ...logitsRows('sampleFromLogits', (x) => sampleFromLogits(x, { seed: 1 })),
    ...optionRows(
      'sampleFromLogits',
      (o) => sampleFromLogits(ROW2, o as never),
      'top_k',
      'temperature, topK, topP, minP, seed, offset',
      'topK',
    ),
    r('temperature 0', { temperature: 0, seed: 1 }, TEMPERATURE_0),
    r('topK 0', { topK: 0, seed: 1 }, 'topK: expected an integer ≥ 1 and ≤ 3, received 0 (V = 3)'),
    r('topK > V', { topK: 4, seed: 1 }, 'topK: expected an integer ≥ 1 and ≤ 3, received 4'),
    r('a fractional topK', { topK: 1.5, seed: 1 }, 'received 1.5'),
    r('topP 0', { topP: 0, seed: 1 }, 'topP: expected a finite number > 0 and ≤ 1, received 0'),
    r('topP > 1', { topP: 1.5, seed: 1 }, 'received 1.5'),
    r('minP < 0', { minP: -0.1, seed: 1 }, 'minP: expected a finite number ≥ 0 and ≤ 1, received -0.1'),
    r('no seed', {}, 'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received undefined'),
    r('a negative seed', { seed: -1 }, 'seed: expected an integer ≥ 0'),
    r('a fractional offset', { seed: 1, offset: 0.5 }, 'offset: expected an integer ≥ 0 and ≤ 9007199254740991, received 0.5'),
  ]);
});

describe('mirrorAscent: bad input', () => {
  const zeroGrad = (q: Tensor) => tf.zerosLike(q);
  const q0 = () => tf.tensor2d([[0.5, 0.5]]);
  const r = (name: string, opts: unknown, message: string) =>
    badInput({
      name: `mirrorAscent: ${name}`,
      inputs: q0,
      call: (q) => mirrorAscent(zeroGrad, q, opts as never),
      error: ValueError,
      message,
    });
  const start = (name: string, build: () => Tensor, error: typeof ValueError | typeof ShapeError | typeof DtypeError, message: string) =>
    badInput({
      name: `mirrorAscent: ${name}`,
      inputs: build,
      call: (q) => mirrorAscent(zeroGrad, q, { eta: 1, steps: 1 }),
      error,
      message,
    });
  itRejects([
    badInput({
      name: 'mirrorAscent: a grad that is not a function',
      inputs: q0,
      call: (q) => mirrorAscent(3 as never, q, { eta: 1, steps: 1 }),
      error: ValueError,
      message: 'grad: expected a function (q: Tensor) => Tensor, received 3',
    }),
    start(
      'a q0 of rank 3',
      () => tf.zeros([1, 1, 2]),
      ShapeError,
      'q0: expected a non-empty tensor of shape [B, V] or [V], received shape [1, 1, 2]',
    ),
    start('an int32 q0', () => tf.tensor1d([1, 0], 'int32'), DtypeError, 'q0: expected dtype float32, received int32'),
    start('a negative q0', () => tf.tensor1d([1.5, -0.5]), ValueError, 'q0: expected nonnegative values, received a minimum of -0.5'),
    start(
      'a q0 row summing to 0',
      () => tf.tensor2d([[0, 0]]),
      ValueError,
      'q0: expected every row to have a positive finite sum, received a row summing to 0',
    ),
    start('a NaN in q0', () => tf.tensor1d([Number.NaN, 1]), ValueError, 'q0: expected nonnegative finite values, received 1 NaN entries'),
    badInput({
      name: 'mirrorAscent: a disposed q0',
      call: () => {
        const t = tf.ones([2]);
        t.dispose();
        return mirrorAscent(zeroGrad, t, { eta: 1, steps: 1 });
      },
      error: ValueError,
      message: 'q0: expected a live tensor, received a disposed Tensor<float32>[2]',
    }),
    r('options that are not an object', 3, 'opts: expected an options object {'),
    r(
      'a misspelt option',
      { eta: 1, steps: 1, tolerance: 1e-3 },
      'opts.tolerance: expected one of the known options (eta, steps, tol, signal), received an unknown option',
    ),
    r('η = 0', { eta: 0, steps: 1 }, 'eta: expected a finite number > 0, received 0'),
    r('fractional steps', { eta: 1, steps: 1.5 }, `steps: expected an integer ≥ 0 and ≤ ${MIRROR_ASCENT_MAX_STEPS}, received 1.5`),
    r('negative steps', { eta: 1, steps: -1 }, 'received -1'),
    r(
      'steps past the limit',
      { eta: 1, steps: 1e9 },
      `steps: expected an integer ≥ 0 and ≤ ${MIRROR_ASCENT_MAX_STEPS}, received 1000000000`,
    ),
    r('tol = 0', { eta: 1, steps: 1, tol: 0 }, 'tol: expected a finite number > 0, received 0'),
    r('a signal that is not an AbortSignal', { eta: 1, steps: 1, signal: 'stop' }, 'signal: expected an AbortSignal, received "stop"'),
    badInput({
      name: 'mirrorAscent: a grad of the wrong shape',
      inputs: q0,
      call: (q) => mirrorAscent(() => tf.zeros([3]), q, { eta: 1, steps: 2 }),
      error: ShapeError,
      message: 'grad: expected a tensor of shape [1, 2] at step 0, received Tensor<float32>[3]',
    }),
  ]);
});

describe('bestOfK: bad input', () => {
  const x3 = () => tf.tensor2d([[1, 2, 3]]);
  const r = (name: string, opts: unknown, message: string, error: typeof ValueError | typeof ShapeError | typeof DtypeError = ValueError) =>
    badInput({ name: `bestOfK: ${name}`, inputs: x3, call: (x) => bestOfK(x, opts as BestOfKOptions), error, message });
  itRejects([
    ...logitsRows('bestOfK', (x) => bestOfK(x, { k: 2, preset: 'mild' })),
    ...optionRows('bestOfK', (o) => bestOfK(ROW2, o as never), 'beam', 'k, lambda, beta, preset, eta, steps, weights, r, temperature'),
    r('k = 0', { k: 0, lambda: 1, beta: 1 }, 'k: expected an integer ≥ 1, received 0'),
    r('a fractional k', { k: 2.5, lambda: 1, beta: 1 }, 'k: expected an integer ≥ 1, received 2.5'),
    r('λ < 0', { k: 2, lambda: -1, beta: 1 }, 'lambda: expected a finite number ≥ 0, received -1'),
    r('β < 0', { k: 2, lambda: 1, beta: -0.1 }, 'beta: expected a finite number ≥ 0, received -0.1'),
    r(
      'no β, λ or preset',
      { k: 2 },
      'lambda, beta: expected both (or a preset: mild, medium, strong), received lambda undefined and beta undefined',
    ),
    r('a preset and λ', { k: 2, preset: 'mild', lambda: 1 }, 'preset: expected either a preset or explicit beta and lambda'),
    r('an unknown preset', { k: 2, preset: 'huge' }, 'preset: expected one of mild, medium, strong, received "huge"'),
    r('temperature 0', { k: 2, lambda: 1, beta: 1, temperature: 0 }, TEMPERATURE_0),
    r('η = 0', { k: 2, lambda: 1, beta: 1, eta: 0 }, 'eta: expected a finite number > 0, received 0'),
    r('negative steps', { k: 2, lambda: 1, beta: 1, steps: -1 }, `steps: expected an integer ≥ 0 and ≤ ${BOK_MAX_STEPS}, received -1`),
    r(
      'steps past the limit (it used to block for minutes)',
      { k: 2, lambda: 1, beta: 1, steps: 1e9 },
      `steps: expected an integer ≥ 0 and ≤ ${BOK_MAX_STEPS}, received 1000000000`,
    ),
    r('r > V', { k: 2, lambda: 1, beta: 1, r: 4 }, 'r: expected an integer ≥ 1 and ≤ 3, received 4'),
    r(
      'r with prob weights',
      { k: 2, lambda: 1, beta: 1, weights: 'prob', r: 2 },
      'r: expected only with weights \'uniform-top-r\', received r 2 with weights "prob"',
    ),
    r(
      'unknown weights',
      { k: 2, lambda: 1, beta: 1, weights: 'flat' },
      `weights: expected 'uniform-top-r', 'prob' or a tensor [B, V] or [V], received "flat"`,
    ),
    badInput({
      name: 'bestOfK: weights of the wrong shape',
      inputs: () => ({ x: tf.tensor2d([[1, 2, 3]]), w: tf.ones([2, 3]) }),
      call: ({ x, w }) => bestOfK(x, { k: 2, lambda: 1, beta: 1, weights: w }),
      error: ShapeError,
      message: 'weights: expected shape [1, 3] or [3], received [2, 3]',
    }),
    badInput({
      name: 'bestOfK: disposed weights',
      inputs: () => tf.tensor2d([[1, 2, 3]]),
      call: (x) => {
        const w = tf.ones([3]);
        w.dispose();
        return bestOfK(x, { k: 2, lambda: 1, beta: 1, weights: w });
      },
      error: ValueError,
      message: 'weights: expected a live tensor, received a disposed Tensor<float32>[3]',
    }),
    badInput({
      name: 'bestOfK: int32 weights',
      inputs: () => ({ x: tf.tensor2d([[1, 2, 3]]), w: tf.ones([3], 'int32') }),
      call: ({ x, w }) => bestOfK(x, { k: 2, lambda: 1, beta: 1, weights: w }),
      error: DtypeError,
      message: 'weights: expected dtype float32, received int32',
    }),
  ]);
});

describe('bokObjective: bad input', () => {
  itRejects([
    ...logitsRows('bokObjective', (x) => bokObjective(x, x, { k: 2, preset: 'mild' })),
    badInput({
      name: 'bokObjective: q of another shape',
      inputs: () => ({ q: tf.ones([1, 4]), x: tf.ones([1, 3]) }),
      call: ({ q, x }) => bokObjective(q, x, { k: 2, preset: 'mild' }),
      error: ShapeError,
      message: "q: expected the logits' shape [1, 3], received Tensor<float32>[1, 4]",
    }),
    badInput({
      name: 'bokObjective: an int32 q',
      inputs: () => ({ q: tf.ones([1, 3], 'int32'), x: tf.ones([1, 3]) }),
      call: ({ q, x }) => bokObjective(q, x, { k: 2, preset: 'mild' }),
      error: DtypeError,
      message: 'q: expected dtype float32, received int32',
    }),
    badInput({
      name: 'bokObjective: a misspelt option',
      inputs: () => tf.ones([1, 3]),
      call: (x) => bokObjective(x, x, { k: 2, preset: 'mild', temprature: 1 } as never),
      error: ValueError,
      message:
        'opts.temprature: expected one of the known options (k, lambda, beta, preset, eta, steps, weights, r, temperature), received an unknown option (did you mean temperature?)',
    }),
  ]);
});

describe('coverageCurvature and defaultStepSize: bad input', () => {
  itRejects([
    badInput({
      name: 'coverageCurvature: k = 0',
      call: () => coverageCurvature(0),
      error: ValueError,
      message: 'k: expected an integer ≥ 1, received 0',
    }),
    badInput({
      name: 'coverageCurvature: a fractional k',
      call: () => coverageCurvature(1.5),
      error: ValueError,
      message: 'k: expected an integer ≥ 1, received 1.5',
    }),
    badInput({
      name: 'defaultStepSize: λ < 0',
      call: () => defaultStepSize(-1, 0, 2),
      error: ValueError,
      message: 'lambda: expected a finite number ≥ 0, received -1',
    }),
    badInput({
      name: 'defaultStepSize: a NaN betaBar',
      call: () => defaultStepSize(1, Number.NaN, 2),
      error: ValueError,
      message: 'betaBar: expected a finite number ≥ 0, received NaN',
    }),
    badInput({
      name: 'defaultStepSize: k = 0',
      call: () => defaultStepSize(1, 0, 0),
      error: ValueError,
      message: 'k: expected an integer ≥ 1, received 0',
    }),
    badInput({
      name: 'defaultStepSize: wMax < 0',
      call: () => defaultStepSize(1, 0.1, 2, -1),
      error: ValueError,
      message: 'wMax: expected a finite number ≥ 0, received -1',
    }),
  ]);
});

describe('createSampler: bad input', () => {
  const spec = (name: string, s: unknown, message: string) =>
    badInput({ name: `createSampler: ${name}`, call: () => createSampler(s as SamplerSpec), error: ValueError, message });
  itRejects([
    spec('a spec that is not an object', 5, 'spec: expected an options object {'),
    spec(
      'a misspelt field',
      { topk: 5 },
      'spec.topk: expected one of the known options (greedy, temperature, topK, topP, minP, typical, epsilon, repetitionPenalty, presencePenalty, frequencyPenalty, regularizer), received an unknown option (did you mean topK?)',
    ),
    spec('temperature 0', { temperature: 0 }, `spec.${TEMPERATURE_0}`),
    spec('topK 0', { topK: 0 }, 'spec.topK: expected an integer ≥ 1, received 0'),
    spec('topP 0', { topP: 0 }, 'spec.topP: expected a finite number > 0 and ≤ 1, received 0'),
    spec('minP > 1', { minP: 1.5 }, 'spec.minP: expected a finite number ≥ 0 and ≤ 1, received 1.5'),
    spec('typical 0', { typical: 0 }, 'spec.typical: expected a finite number > 0 and ≤ 1, received 0'),
    spec('epsilon 1', { epsilon: 1 }, 'spec.epsilon: expected a finite number ≥ 0 and < 1, received 1'),
    spec(
      'a repetition penalty of 0',
      { repetitionPenalty: 0 },
      'spec.repetitionPenalty: expected a finite number > 0, received 0 (1 turns it off)',
    ),
    spec('a NaN presence penalty', { presencePenalty: Number.NaN }, 'spec.presencePenalty: expected a finite number, received NaN'),
    spec(
      'greedy with a temperature',
      { greedy: true, temperature: 0.5 },
      'spec.temperature: expected nothing with greedy: true (the argmax ignores it), received 0.5',
    ),
    spec('a non-boolean greedy', { greedy: 1 }, 'spec.greedy: expected a boolean, received 1'),
    spec('an unknown regulariser', { regularizer: 'entropy' }, "spec.regularizer: expected 'softmax', 'sparsemax' or { kind:"),
    spec(
      'an unknown regulariser kind',
      { regularizer: { kind: 'beam' } },
      "spec.regularizer.kind: expected 'softmax', 'sparsemax', 'entmax' or 'bestOfK', received \"beam\"",
    ),
    spec(
      'a misspelt regulariser key',
      { regularizer: { kind: 'sparsemax', lamda: 1 } },
      'spec.regularizer.lamda: expected one of the known options (kind, lambda), received an unknown option (did you mean lambda?)',
    ),
    spec(
      'entmax with α = 1',
      { regularizer: { kind: 'entmax', alpha: 1 } },
      'spec.regularizer.alpha: expected a finite number > 1, received 1',
    ),
    spec(
      'sparsemax with λ = 0',
      { regularizer: { kind: 'sparsemax', lambda: 0 } },
      'spec.regularizer.lambda: expected a finite number > 0, received 0',
    ),
    spec(
      'Best-of-K without K',
      { regularizer: { kind: 'bestOfK', preset: 'mild' } },
      'spec.regularizer.k: expected an integer ≥ 1, received undefined',
    ),
    spec(
      'Best-of-K with λ < 0',
      { regularizer: { kind: 'bestOfK', k: 2, lambda: -1, beta: 1 } },
      'spec.regularizer.lambda: expected a finite number ≥ 0, received -1',
    ),
    spec(
      'Best-of-K steps past the limit',
      { regularizer: { kind: 'bestOfK', k: 2, preset: 'mild', steps: 1e9 } },
      `spec.regularizer.steps: expected an integer ≥ 0 and ≤ ${BOK_MAX_STEPS}`,
    ),
    spec(
      'Best-of-K with its own temperature',
      { regularizer: { kind: 'bestOfK', k: 2, preset: 'mild', temperature: 2 } },
      'spec.regularizer.temperature: expected no temperature inside the regulariser',
    ),
    spec(
      'Best-of-K with an unknown key',
      { regularizer: { kind: 'bestOfK', k: 2, preset: 'mild', beams: 2 } },
      'spec.regularizer.beams: expected one of the known options (k, lambda, beta, preset, eta, steps, weights, r, temperature)',
    ),
  ]);
});

describe('Sampler.distribution: bad input', () => {
  itRejects([
    ...logitsRows('distribution', (x) => createSampler({}).distribution(x)),
    badInput({
      name: 'distribution: topK > V',
      inputs: () => tf.tensor2d([[0, 1, 2]]),
      call: (x) => createSampler({ topK: 4, typical: 0.9 }).distribution(x),
      error: ValueError,
      message: 'spec.topK: expected an integer ≥ 1 and ≤ 3, received 4',
    }),
    badInput({
      name: 'distribution: an id outside the vocabulary',
      inputs: () => tf.tensor2d([[0, 1, 2]]),
      call: (x) => createSampler({ repetitionPenalty: 2 }).distribution(x, { generatedIds: [[3]] }),
      error: ValueError,
      message: 'generatedIds[0][0]: expected an integer ≥ 0 and ≤ 2, received 3',
    }),
    badInput({
      name: 'distribution: a prompt per row missing',
      inputs: () => tf.tensor2d([[0, 1, 2]]),
      call: (x) => createSampler({}).distribution(x, { promptIds: [[0], [1]] }),
      error: ValueError,
      message: 'promptIds: expected 1 arrays of token ids (one per row), received [[0], [1]]',
    }),
    badInput({
      name: 'distribution: a misspelt history key',
      inputs: () => tf.tensor2d([[0, 1, 2]]),
      call: (x) => createSampler({}).distribution(x, { promptId: [[0]] } as never),
      error: ValueError,
      message:
        'history.promptId: expected one of the known options (promptIds, generatedIds), received an unknown option (did you mean promptIds?)',
    }),
  ]);
});

describe('Sampler.sample: bad input', () => {
  const x3 = () => tf.tensor2d([[0, 1, 2]]);
  itRejects([
    ...logitsRows('Sampler.sample', (x) => createSampler({}).sample(x, { seed: 1 })),
    badInput({
      name: 'Sampler.sample: topK > V',
      inputs: x3,
      call: (x) => createSampler({ topK: 4 }).sample(x, { seed: 1 }),
      error: ValueError,
      message: 'spec.topK: expected an integer ≥ 1 and ≤ 3, received 4',
    }),
    badInput({
      name: 'Sampler.sample: a negative seed',
      inputs: x3,
      call: (x) => createSampler({}).sample(x, { seed: -1 }),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received -1',
    }),
    badInput({
      name: 'Sampler.sample: a fractional offset',
      inputs: x3,
      call: (x) => createSampler({}).sample(x, { seed: 1, offset: 0.5 }),
      error: ValueError,
      message: 'offset: expected an integer ≥ 0 and ≤ 9007199254740991, received 0.5',
    }),
    badInput({
      name: 'Sampler.sample: no context',
      inputs: x3,
      call: (x) => createSampler({}).sample(x, undefined as never),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received undefined',
    }),
    badInput({
      name: 'Sampler.sample: a misspelt context key',
      inputs: x3,
      call: (x) => createSampler({}).sample(x, { sed: 1 } as never),
      error: ValueError,
      message:
        'ctx.sed: expected one of the known options (seed, offset, promptIds, generatedIds), received an unknown option (did you mean seed?)',
    }),
    badInput({
      name: 'Sampler.sample: a NaN logit',
      inputs: () =>
        tf.tensor2d([
          [0, 1, 2],
          [1, Number.NaN, 0],
        ]),
      call: (x) => createSampler({ topK: 2 }).sample(x, { seed: 1 }),
      error: ValueError,
      message: 'logits: expected finite values or -Infinity, received NaN at row 1, token 1',
    }),
    badInput({
      name: 'Sampler.sample: a +∞ logit',
      inputs: () => tf.tensor1d([0, INF]),
      call: (x) => createSampler({ typical: 0.5 }).sample(x, { seed: 1 }),
      error: ValueError,
      message: 'logits: expected finite values or -Infinity, received Infinity at row 0, token 1',
    }),
  ]);
});

describe('generate and sampleN: bad input', () => {
  const sampler = createSampler({});
  const model = bigram();
  const opts = { sampler, maxTokens: 3, seed: 1 };
  const gen = (name: string, call: () => unknown, message: string) =>
    badInput({ name: `generate: ${name}`, call, error: ValueError, message });
  const many = (name: string, o: unknown, message: string) =>
    badInput({ name: `sampleN: ${name}`, call: () => sampleN(model, [0], o as never), error: ValueError, message });
  itRejects([
    gen(
      'negative maxTokens',
      () => generate(model, [0], { ...opts, maxTokens: -1 }),
      `maxTokens: expected an integer ≥ 0 and ≤ ${GENERATE_MAX_TOKENS}, received -1`,
    ),
    gen(
      'maxTokens past the limit',
      () => generate(model, [0], { ...opts, maxTokens: 1e12 }),
      `maxTokens: expected an integer ≥ 0 and ≤ ${GENERATE_MAX_TOKENS}, received 1000000000000`,
    ),
    gen(
      'a fractional seed',
      () => generate(model, [0], { ...opts, seed: 0.5 }),
      'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received 0.5',
    ),
    gen('an empty prompt', () => generate(model, [], opts), 'promptIds: expected a non-empty array of token ids, received []'),
    gen('a negative prompt id', () => generate(model, [0, -2], opts), 'promptIds[1]: expected an integer ≥ 0, received -2'),
    gen(
      'a model without step',
      () => generate({} as StepModel, [0], opts),
      'model: expected an object with step(ids, state), received [object Object]',
    ),
    gen(
      'a sampler that is not one',
      () => generate(model, [0], { ...opts, sampler: {} as typeof sampler }),
      'sampler: expected a sampler from createSampler(spec), received [object Object]',
    ),
    gen('a fractional stop id', () => generate(model, [0], { ...opts, stop: [1.5] }), 'stop[0]: expected an integer ≥ 0, received 1.5'),
    gen(
      'a stop that is neither a list nor a function',
      () => generate(model, [0], { ...opts, stop: 3 as never }),
      'stop: expected an array of token ids or a function (id) => boolean, received 3',
    ),
    gen(
      'a signal that is not an AbortSignal',
      () => generate(model, [0], { ...opts, signal: {} as never }),
      'signal: expected an AbortSignal, received [object Object]',
    ),
    gen(
      'a misspelt option',
      () => generate(model, [0], { ...opts, maxToken: 3 } as never),
      'opts.maxToken: expected one of the known options (sampler, maxTokens, stop, seed, signal), received an unknown option (did you mean maxTokens?)',
    ),
    gen(
      'no options',
      () => generate(model, [0], undefined as never),
      'sampler: expected a sampler from createSampler(spec), received undefined',
    ),
    many('n = 0', { ...opts, n: 0 }, `n: expected an integer ≥ 1 and ≤ ${SAMPLE_N_MAX}, received 0`),
    many('n past the limit', { ...opts, n: 1e6 }, `n: expected an integer ≥ 1 and ≤ ${SAMPLE_N_MAX}, received 1000000`),
    many('a decode that is not a function', { ...opts, n: 2, decode: 'x' }, 'decode: expected a function (ids) => string, received "x"'),
    many('negative maxTokens', { ...opts, n: 2, maxTokens: -1 }, 'maxTokens: expected an integer ≥ 0'),
    many(
      'a misspelt option',
      { ...opts, n: 2, decoder: () => '' },
      'opts.decoder: expected one of the known options (sampler, maxTokens, stop, seed, signal, n, decode), received an unknown option (did you mean decode?)',
    ),
    badInput({
      name: 'continuationSeed: a negative seed',
      call: () => continuationSeed(-1, 0),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received -1',
    }),
    badInput({
      name: 'continuationSeed: an index past 2³² − 1',
      call: () => continuationSeed(1, 2 ** 32),
      error: ValueError,
      message: 'index: expected an integer ≥ 0 and ≤ 4294967295, received 4294967296',
    }),
  ]);
});
