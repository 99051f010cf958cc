import { DtypeError, ShapeError, type Tensor, TesseraError, tf, ValueError } from '@tessera/tensor-core';
import { badInput, itRejects } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import {
  attention,
  attentionWithLse,
  BlockMask,
  blockScores,
  distill,
  flowMatchingLoss,
  velocityDistillationLoss,
  blockSparseAttention,
  hybridMask,
  SparseAttention,
  spargeAttention,
  spargeV1Mask,
  topKMask,
  topPMask,
  twilightMask,
} from '../src/index.js';

const t4 = (shape: number[], dtype: 'float32' | 'int32' = 'float32') => tf.zeros(shape, dtype);
const qkv = (lq = 8, lk = 8, d = 4) => ({ q: t4([1, 2, lq, d]), k: t4([1, 2, lk, d]), v: t4([1, 2, lk, d]) });
const scores = () => ({ s: tf.fill([1, 2, 2, 4], 0.25) });
type Any = never;

describe('attention rejects', () => {
  itRejects([
    badInput({
      name: 'q of rank 3',
      inputs: () => ({ ...qkv(), q: t4([2, 8, 4]) }),
      call: ({ q, k, v }) => attention(q, k, v),
      error: ShapeError,
      message: 'q: expected rank 4',
    }),
    badInput({
      name: 'int32 q',
      inputs: () => ({ ...qkv(), q: t4([1, 2, 8, 4], 'int32') }),
      call: ({ q, k, v }) => attention(q, k, v),
      error: DtypeError,
      message: 'q: expected dtype float32, received int32',
    }),
    badInput({
      name: 'k with another head dimension',
      inputs: () => ({ ...qkv(), k: t4([1, 2, 8, 5]) }),
      call: ({ q, k, v }) => attention(q, k, v),
      error: ShapeError,
      message: 'k: expected dimension 3 (D) to be 4',
    }),
    badInput({
      name: 'v with another length than k',
      inputs: () => ({ ...qkv(), v: t4([1, 2, 7, 4]) }),
      call: ({ q, k, v }) => attention(q, k, v),
      error: ShapeError,
      message: 'v: expected dimension 2 (Lk) to be 8',
    }),
    badInput({
      name: 'k with another batch',
      inputs: () => ({ ...qkv(), k: t4([2, 2, 8, 4]) }),
      call: ({ q, k, v }) => attention(q, k, v),
      error: ShapeError,
      message: 'k: expected dimension 0 (B) to be 1',
    }),
    badInput({
      name: 'causal with Lq ≠ Lk',
      inputs: () => qkv(6, 8),
      call: ({ q, k, v }) => attention(q, k, v, { causal: true }),
      error: ValueError,
      message: 'Lq = 6, Lk = 8',
    }),
    badInput({
      name: 'an empty sequence',
      inputs: () => qkv(0, 0),
      call: ({ q, k, v }) => attention(q, k, v),
      error: ValueError,
      message: 'q: expected a non-empty tensor',
    }),
    badInput({
      name: 'a non-boolean causal',
      inputs: () => qkv(),
      call: ({ q, k, v }) => attention(q, k, v, { causal: 1 as Any }),
      error: ValueError,
      message: 'opts.causal: expected a boolean, received 1',
    }),
    badInput({
      name: 'a NaN scale',
      inputs: () => qkv(),
      call: ({ q, k, v }) => attention(q, k, v, { scale: Number.NaN }),
      error: ValueError,
      message: 'opts.scale: expected a finite number, received NaN',
    }),
    badInput({
      name: 'an unknown option',
      inputs: () => qkv(),
      call: ({ q, k, v }) => attention(q, k, v, { casual: true } as Any),
      error: ValueError,
      message: 'did you mean causal?',
    }),
    badInput({
      name: 'attentionWithLse: a misspelt scale',
      inputs: () => qkv(),
      call: ({ q, k, v }) => attentionWithLse(q, k, v, { scal: 1 } as Any),
      error: ValueError,
      message: 'opts.scal',
    }),
  ]);
});

describe('BlockMask rejects', () => {
  itRejects([
    badInput({
      name: 'a float32 dense mask',
      inputs: () => ({ d: t4([1, 1, 2, 2]) }),
      call: ({ d }) => BlockMask.fromDense(d),
      error: DtypeError,
      message: 'dense: expected dtype bool or int32 (nonzero = kept), received float32',
    }),
    badInput({
      name: 'a dense mask of rank 3',
      inputs: () => ({ d: tf.zeros([1, 2, 2], 'int32') }),
      call: ({ d }) => BlockMask.fromDense(d),
      error: ShapeError,
      message: 'dense: expected rank 4',
    }),
    badInput({
      name: 'a zero block size',
      inputs: () => ({ d: t4([1, 1, 2, 2], 'int32') }),
      call: ({ d }) => BlockMask.fromDense(d, { blockSize: [0, 64] }),
      error: ValueError,
      message: 'opts.blockSize[0]: expected an integer ≥ 1, received 0',
    }),
    badInput({
      name: 'a fractional block size',
      inputs: () => ({ d: t4([1, 1, 2, 2], 'int32') }),
      call: ({ d }) => BlockMask.fromDense(d, { blockSize: [64, 2.5] }),
      error: ValueError,
      message: 'opts.blockSize[1]: expected an integer ≥ 1, received 2.5',
    }),
    badInput({
      name: 'a block size that is not a pair',
      inputs: () => ({ d: t4([1, 1, 2, 2], 'int32') }),
      call: ({ d }) => BlockMask.fromDense(d, { blockSize: [64] as Any }),
      error: ValueError,
      message: 'opts.blockSize: expected [bq, bk], two positive integers, received [64]',
    }),
    badInput({
      name: 'an unknown option',
      inputs: () => ({ d: t4([1, 1, 2, 2], 'int32') }),
      call: ({ d }) => BlockMask.fromDense(d, { blocksize: [1, 1] } as Any),
      error: ValueError,
      message: 'did you mean blockSize?',
    }),
  ]);

  it('rejects toDense on a disposed mask', () => {
    const d = tf.ones([1, 1, 2, 2], 'int32');
    const mask = BlockMask.fromDense(d);
    mask.dispose();
    d.dispose();
    expect(() => mask.toDense()).toThrow(TesseraError);
    expect(() => mask.toDense()).toThrow('BlockMask.toDense: the mask was disposed');
  });
});

describe('blockSparseAttention rejects', () => {
  const withMask =
    (grid: number[], blockSize: [number, number] = [4, 4]) =>
    () => {
      const dense = tf.ones(grid, 'int32');
      const mask = BlockMask.fromDense(dense, { blockSize });
      dense.dispose();
      return { ...qkv(), mask: mask as unknown as Tensor };
    };
  const run = (o: { q: Tensor; k: Tensor; v: Tensor; mask: Tensor }, opts = {}) =>
    blockSparseAttention(o.q, o.k, o.v, o.mask as unknown as BlockMask, opts);
  itRejects([
    badInput({
      name: 'a tensor as the mask',
      inputs: () => ({ ...qkv(), mask: t4([1, 2, 2, 2], 'int32') }),
      call: (o) => run(o),
      error: ValueError,
      message: 'mask: expected a BlockMask',
    }),
    badInput({
      name: 'a mask whose grid does not cover q',
      inputs: withMask([1, 2, 3, 2]),
      call: (o) => run(o),
      error: ShapeError,
      message: 'mask: expected a block grid [B, H, ⌈Lq/bq⌉, ⌈Lk/bk⌉] = [1, 2, 2, 2]',
    }),
    badInput({
      name: 'a mask for other heads',
      inputs: withMask([1, 1, 2, 2]),
      call: (o) => run(o),
      error: ShapeError,
      message: 'received [1, 1, 2, 2]',
    }),
    badInput({
      name: 'q and k of different head dimensions',
      inputs: () => ({ ...withMask([1, 2, 2, 2])(), q: t4([1, 2, 8, 3]) }),
      call: (o) => run(o),
      error: ShapeError,
      message: 'k: expected dimension 3 (D) to be 3',
    }),
    badInput({
      name: 'causal with Lq ≠ Lk',
      inputs: () => ({ ...withMask([1, 2, 1, 2])(), q: t4([1, 2, 4, 4]) }),
      call: (o) => run(o, { causal: true }),
      error: ValueError,
      message: 'Lq = 4, Lk = 8',
    }),
  ]);

  it('rejects a disposed mask', () => {
    const { q, k, v } = qkv();
    const dense = tf.ones([1, 2, 2, 2], 'int32');
    const mask = BlockMask.fromDense(dense, { blockSize: [4, 4] });
    mask.dispose();
    expect(() => blockSparseAttention(q, k, v, mask)).toThrow('mask: expected a live BlockMask, received a disposed one');
    tf.dispose([q, k, v, dense]);
  });
});

describe('mask builders reject', () => {
  itRejects([
    badInput({
      name: 'blockScores: a zero bq',
      inputs: () => qkv(),
      call: ({ q, k }) => blockScores(q, k, { bq: 0 }),
      error: ValueError,
      message: 'opts.bq: expected an integer ≥ 1, received 0',
    }),
    badInput({
      name: 'blockScores: a negative bk',
      inputs: () => qkv(),
      call: ({ q, k }) => blockScores(q, k, { bk: -64 }),
      error: ValueError,
      message: 'opts.bk: expected an integer ≥ 1, received -64',
    }),
    badInput({
      name: 'blockScores: more key blocks than a row holds',
      inputs: () => qkv(8, 5000),
      call: ({ q, k }) => blockScores(q, k, { bk: 1 }),
      error: ValueError,
      message: 'opts.bk: expected at most 4096 key blocks per row',
    }),
    badInput({
      name: 'blockScores: causal with Lq ≠ Lk',
      inputs: () => qkv(4, 8),
      call: ({ q, k }) => blockScores(q, k, { causal: true }),
      error: ValueError,
      message: 'Lq = 4, Lk = 8',
    }),
    badInput({
      name: 'blockScores: q and k of different heads',
      inputs: () => ({ ...qkv(), k: t4([1, 3, 8, 4]) }),
      call: ({ q, k }) => blockScores(q, k),
      error: ShapeError,
      message: 'k: expected dimension 1 (H) to be 2',
    }),
    badInput({
      name: 'hybridMask: topK = 0',
      inputs: scores,
      call: ({ s }) => hybridMask(s, { topK: 0 }),
      error: ValueError,
      message: 'opts.topK: expected a finite number > 0 and ≤ 1, received 0',
    }),
    badInput({
      name: 'hybridMask: topK > 1',
      inputs: scores,
      call: ({ s }) => hybridMask(s, { topK: 1.5 }),
      error: ValueError,
      message: 'opts.topK: expected a finite number > 0 and ≤ 1, received 1.5',
    }),
    badInput({
      name: 'hybridMask: topP = 0',
      inputs: scores,
      call: ({ s }) => hybridMask(s, { topP: 0 }),
      error: ValueError,
      message: 'opts.topP: expected a finite number > 0 and ≤ 1, received 0',
    }),
    badInput({
      name: 'hybridMask: a NaN topP',
      inputs: scores,
      call: ({ s }) => hybridMask(s, { topP: Number.NaN }),
      error: ValueError,
      message: 'opts.topP: expected a finite number > 0 and ≤ 1, received NaN',
    }),
    badInput({
      name: 'hybridMask: int32 scores',
      inputs: () => ({ s: t4([1, 1, 2, 2], 'int32') }),
      call: ({ s }) => hybridMask(s),
      error: DtypeError,
      message: 'scores: expected dtype float32, received int32',
    }),
    badInput({
      name: 'hybridMask: scores of rank 3',
      inputs: () => ({ s: tf.zeros([1, 2, 2]) }),
      call: ({ s }) => hybridMask(s),
      error: ShapeError,
      message: 'scores: expected rank 4',
    }),
    badInput({
      name: 'hybridMask: a zero bq',
      inputs: scores,
      call: ({ s }) => hybridMask(s, { bq: 0 }),
      error: ValueError,
      message: 'opts.bq: expected an integer ≥ 1, received 0',
    }),
    badInput({
      name: 'topKMask: no topK',
      inputs: scores,
      call: ({ s }) => topKMask(s, {} as Any),
      error: ValueError,
      message: 'opts.topK: expected a finite number > 0 and ≤ 1, received undefined',
    }),
    badInput({
      name: 'topKMask: a topP option',
      inputs: scores,
      call: ({ s }) => topKMask(s, { topK: 0.5, topP: 0.5 } as Any),
      error: ValueError,
      message: 'opts.topP: expected one of the known options',
    }),
    badInput({
      name: 'topPMask: p > 1',
      inputs: scores,
      call: ({ s }) => topPMask(s, { topP: 1.01 }),
      error: ValueError,
      message: 'opts.topP: expected a finite number > 0 and ≤ 1, received 1.01',
    }),
    badInput({
      name: 'spargeV1Mask: both cdfThreshold and topK',
      inputs: () => qkv(),
      call: ({ q, k }) => spargeV1Mask(q, k, { cdfThreshold: 0.9, topK: 0.1 }),
      error: ValueError,
      message: 'expected one of cdfThreshold or topK, received both',
    }),
    badInput({
      name: 'spargeV1Mask: cdfThreshold = 0',
      inputs: () => qkv(),
      call: ({ q, k }) => spargeV1Mask(q, k, { cdfThreshold: 0 }),
      error: ValueError,
      message: 'opts.cdfThreshold: expected a finite number > 0 and ≤ 1, received 0',
    }),
    badInput({
      name: 'spargeV1Mask: simThreshold > 1',
      inputs: () => qkv(),
      call: ({ q, k }) => spargeV1Mask(q, k, { simThreshold: 2 }),
      error: ValueError,
      message: 'opts.simThreshold: expected a finite number ≥ -1 and ≤ 1, received 2',
    }),
    badInput({
      name: 'spargeV1Mask: a non-boolean attentionSink',
      inputs: () => qkv(),
      call: ({ q, k }) => spargeV1Mask(q, k, { attentionSink: 'yes' as Any }),
      error: ValueError,
      message: 'opts.attentionSink: expected a boolean, received yes',
    }),
    badInput({
      name: 'twilightMask: budget = 0',
      inputs: () => qkv(),
      call: ({ q, k }) => twilightMask(q, k, { budget: 0 }),
      error: ValueError,
      message: 'opts.budget: expected a finite number > 0 and ≤ 1, received 0',
    }),
    badInput({
      name: 'twilightMask: p > 1',
      inputs: () => qkv(),
      call: ({ q, k }) => twilightMask(q, k, { p: 1.2 }),
      error: ValueError,
      message: 'opts.p: expected a finite number > 0 and ≤ 1, received 1.2',
    }),
    badInput({
      name: 'twilightMask: zero bits',
      inputs: () => qkv(),
      call: ({ q, k }) => twilightMask(q, k, { bits: 0 }),
      error: ValueError,
      message: 'opts.bits: expected an integer ≥ 1 and ≤ 16, received 0',
    }),
    badInput({
      name: 'twilightMask: fractional bits',
      inputs: () => qkv(),
      call: ({ q, k }) => twilightMask(q, k, { bits: 2.5 }),
      error: ValueError,
      message: 'opts.bits: expected an integer ≥ 1 and ≤ 16, received 2.5',
    }),
    badInput({
      name: 'spargeAttention: topK > 1',
      inputs: () => qkv(),
      call: ({ q, k, v }) => spargeAttention(q, k, v, { topK: 2 }),
      error: ValueError,
      message: 'opts.topK: expected a finite number > 0 and ≤ 1, received 2',
    }),
    badInput({
      name: 'spargeAttention: v shorter than k',
      inputs: () => ({ ...qkv(), v: t4([1, 2, 6, 4]) }),
      call: ({ q, k, v }) => spargeAttention(q, k, v),
      error: ShapeError,
      message: 'v: expected dimension 2 (Lk) to be 8',
    }),
  ]);
});

describe('SparseAttention rejects', () => {
  itRejects([
    badInput({
      name: 'heads that do not divide dModel',
      call: () => new SparseAttention({ dModel: 10, heads: 4 }),
      error: ValueError,
      message: 'opts.heads: expected a divisor of dModel = 10 when headDim is not given, received 4',
    }),
    badInput({
      name: 'an unknown mode',
      call: () => new SparseAttention({ mode: 'medium' as Any }),
      error: ValueError,
      message: "mode: expected 'dense' or 'sparse', received \"medium\"",
    }),
    badInput({
      name: 'topP = 0',
      call: () => new SparseAttention({ topP: 0 }),
      error: ValueError,
      message: 'opts.topP: expected a finite number > 0 and ≤ 1, received 0',
    }),
    badInput({
      name: 'an unknown option',
      call: () => new SparseAttention({ dmodel: 8 } as Any),
      error: ValueError,
      message: 'did you mean dModel?',
    }),
  ]);

  it('rejects input of the wrong width, and a bad mode set later', () => {
    const layer = new SparseAttention({ dModel: 8, heads: 2 });
    const x = tf.zeros([1, 4, 6]);
    expect(() => layer.forward(x)).toThrow('x: expected dimension 2 to be 8');
    expect(() => {
      layer.mode = 'fast' as Any;
    }).toThrow(ValueError);
    x.dispose();
    layer.dispose();
  });
});

describe('flow matching and distillation reject', () => {
  /** u = x_t·w: one trainable scalar, enough for argument checks. */
  const model = () => {
    const w = tf.tidy(() => tf.variable(tf.scalar(0.5)));
    return { w, velocity: (xt: Tensor) => ({ velocity: tf.mul(xt, w) }), parameters: () => [w] };
  };
  const x0 = () => ({ x: tf.zeros([2, 3, 4]) });
  const setup = () => ({ teacher: model(), student: model(), x: tf.zeros([2, 3, 4]) });
  const cleanup = (s: { teacher: { w: Tensor }; student: { w: Tensor } }) => tf.dispose([s.teacher.w, s.student.w]);
  const run = async (overrides: Record<string, unknown>) => {
    const s = setup();
    const optimizer = tf.train.sgd(0.1);
    try {
      return await distill({ teacher: s.teacher, student: s.student, batches: [s.x], steps: 1, optimizer, ...overrides } as Any);
    } finally {
      cleanup(s);
      s.x.dispose();
      optimizer.dispose();
    }
  };
  itRejects([
    badInput({
      name: 'a model without velocity()',
      inputs: x0,
      call: ({ x }) => flowMatchingLoss({} as Any, x),
      error: ValueError,
      message: 'model: expected an object with a velocity(xt, t) method, received',
    }),
    badInput({
      name: 'an int32 x0',
      inputs: () => ({ x: tf.zeros([2, 3], 'int32') }),
      call: ({ x }) => flowMatchingLoss({ velocity: (xt: Tensor) => ({ velocity: xt }) }, x),
      error: DtypeError,
      message: 'x0: expected dtype float32, received int32',
    }),
    badInput({
      name: 'an x0 of rank 1',
      inputs: () => ({ x: tf.zeros([4]) }),
      call: ({ x }) => flowMatchingLoss({ velocity: (xt: Tensor) => ({ velocity: xt }) }, x),
      error: ShapeError,
      message: 'x0: expected [B, ...] with rank ≥ 2 and B ≥ 1, received [4]',
    }),
    badInput({
      name: 'a negative seed',
      inputs: x0,
      call: ({ x }) => flowMatchingLoss({ velocity: (xt: Tensor) => ({ velocity: xt }) }, x, { seed: -1 }),
      error: ValueError,
      message: 'opts.seed: expected',
    }),
    badInput({
      name: 'an unknown loss option',
      inputs: x0,
      call: ({ x }) => flowMatchingLoss({ velocity: (xt: Tensor) => ({ velocity: xt }) }, x, { sed: 1 } as Any),
      error: ValueError,
      message: 'did you mean seed?',
    }),
    badInput({
      name: 'a velocity of the wrong shape',
      inputs: x0,
      call: ({ x }) => flowMatchingLoss({ velocity: (xt: Tensor) => ({ velocity: tf.sum(xt, 2) }) }, x),
      error: ValueError,
      message: 'model.velocity(xt, t): expected a float32 velocity shaped like xt [2, 3, 4], received float32 [2, 3]',
    }),
    badInput({
      name: 'a velocity returned bare',
      inputs: x0,
      call: ({ x }) => flowMatchingLoss({ velocity: (xt: Tensor) => tf.mul(xt, 1) as Any }, x),
      error: ValueError,
      message: 'model.velocity(xt, t): expected { velocity: Tensor, sparsity?: Tensor }, received',
    }),
    badInput({
      name: 'a distillation without a teacher',
      inputs: x0,
      call: ({ x }) => velocityDistillationLoss(undefined as Any, { velocity: (xt: Tensor) => ({ velocity: xt }) }, x),
      error: ValueError,
      message: 'teacher: expected an object with a velocity(xt, t) method, received undefined',
    }),
    badInput({ name: 'steps = 0', call: () => run({ steps: 0 }), error: ValueError, message: 'opts.steps: expected' }),
    badInput({ name: 'fractional steps', call: () => run({ steps: 1.5 }), error: ValueError, message: 'opts.steps: expected' }),
    badInput({
      name: 'steps beyond the bound',
      call: () => run({ steps: 2e6 }),
      error: ValueError,
      message: 'opts.steps: expected',
    }),
    badInput({
      name: 'an object that is not an optimizer',
      call: () => run({ optimizer: { lr: 1 } }),
      error: ValueError,
      message: 'opts.optimizer: expected a tfjs optimizer',
    }),
    badInput({
      name: 'no batches',
      call: () => run({ batches: [] }),
      error: ValueError,
      message: 'opts.batches: expected at least one batch, received an empty array',
    }),
    badInput({
      name: 'batches that are a number',
      call: () => run({ batches: 42 }),
      error: ValueError,
      message: 'opts.batches: expected an array of tensors, a function of the step, or an (async) iterable of tensors, received 42',
    }),
    badInput({
      name: 'a batch function returning a disposed tensor',
      call: () =>
        run({
          batches: () => {
            const x = tf.zeros([2, 2]);
            x.dispose();
            return x;
          },
        }),
      error: ValueError,
      message: 'opts.batches (step 0): expected a live tensor, received a disposed',
    }),
    badInput({
      name: "the teacher's own parameters to train",
      call: async () => {
        const s = setup();
        const optimizer = tf.train.sgd(0.1);
        try {
          await distill({ teacher: s.teacher, student: s.student, batches: [s.x], steps: 1, optimizer, variables: s.teacher.parameters() });
        } finally {
          cleanup(s);
          s.x.dispose();
          optimizer.dispose();
        }
      },
      error: ValueError,
      message: "opts.variables: expected none of the teacher's parameters (the teacher stays frozen), received",
    }),
    badInput({
      name: 'no variables',
      call: () => run({ variables: [] }),
      error: ValueError,
      message: 'opts.variables: expected a non-empty array',
    }),
    badInput({
      name: 'a student that is the teacher',
      call: async () => {
        const s = setup();
        const optimizer = tf.train.sgd(0.1);
        try {
          await distill({ teacher: s.teacher, student: s.teacher, batches: [s.x], steps: 1, optimizer });
        } finally {
          cleanup(s);
          s.x.dispose();
          optimizer.dispose();
        }
      },
      error: ValueError,
      message: 'opts.student: expected a model other than the teacher, received the teacher itself',
    }),
    badInput({
      name: 'onStep that is not a function',
      call: () => run({ onStep: 3 }),
      error: ValueError,
      message: 'opts.onStep: expected a function',
    }),
    badInput({
      name: 'a signal that is not one',
      call: () => run({ signal: {} }),
      error: ValueError,
      message: 'opts.signal: expected an AbortSignal',
    }),
    badInput({ name: 'an unknown distill option', call: () => run({ setps: 3 }), error: ValueError, message: 'did you mean steps?' }),
  ]);
});
