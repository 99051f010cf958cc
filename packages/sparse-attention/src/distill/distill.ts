import {
  checkFunction,
  checkOptions,
  checkRange,
  checkSignal,
  describeValue,
  type Tensor,
  TesseraError,
  tf,
  throwIfAborted,
  ValueError,
  type Variable,
  yieldToEventLoop,
} from '@tessera/tensor-core';
import { flowSample, flowSampleSpan } from './interpolate.js';
import { predict, type VelocityModel } from './losses.js';
import { checkBatch, checkModel } from './validate.js';

/** The data `x0` batches of a distillation run. */
export type DistillBatches =
  /** A fixed set, cycled in order; the caller keeps ownership. */
  | readonly Tensor[]
  /** Called once per step; distill disposes what it returns. */
  | ((step: number) => Tensor)
  /** One batch per step; distill disposes each after its step, and fails if the iterable ends early. */
  | Iterable<Tensor>
  | AsyncIterable<Tensor>;

/** What `onStep` receives after each step. */
export interface DistillStepInfo {
  /** 0-based. */
  step: number;
  /** The step's loss, before the update. */
  loss: number;
  /** The sparsity the student's attention achieved in the step. */
  sparsity: number;
}

/** A student: a velocity model whose `parameters()` (a tensor-core `Module`'s) are trained by default. */
export type DistillStudent = VelocityModel & { parameters?(): Variable[] };

export interface DistillOptions {
  /** The frozen dense model; no gradient reaches it and none of its parameters may be in `variables`. */
  teacher: VelocityModel & { parameters?(): Variable[] };
  /** The sparse model being trained (usually a copy of the teacher's weights in 'sparse' mode). */
  student: DistillStudent;
  /** `x0 [B, ...]` float32 batches: the data only builds x_t. */
  batches: DistillBatches;
  /** Optimisation steps, 1 … 1e6. */
  steps: number;
  /** A tfjs optimizer (`tf.train.adam(1e-4)`, …). */
  optimizer: tf.Optimizer;
  /** The variables to train. Default `student.parameters()`. */
  variables?: Variable[];
  /** Philox key of every step's t and noise. Default 0. */
  seed?: number;
  /** Called (and awaited) after each step. */
  onStep?: (info: DistillStepInfo) => void | Promise<void>;
  /** Aborts between steps with tensor-core's `AbortError`; the student keeps the updates made so far. */
  signal?: AbortSignal;
}

/** Per-step losses and sparsities, in step order. */
export interface DistillReport {
  losses: number[];
  sparsity: number[];
}

/** Upper bound of `steps`. */
export const MAX_DISTILL_STEPS = 1_000_000;

const KNOWN = ['teacher', 'student', 'batches', 'steps', 'optimizer', 'variables', 'seed', 'onStep', 'signal'] as const;

type BatchSource = { next(step: number): Promise<{ x0: Tensor; owned: boolean }>; close(): void };

function batchSource(batches: unknown, steps: number): BatchSource {
  if (Array.isArray(batches)) {
    if (batches.length === 0) throw new ValueError('opts.batches: expected at least one batch, received an empty array');
    return { next: async (step) => ({ x0: batches[step % batches.length] as Tensor, owned: false }), close: () => {} };
  }
  if (typeof batches === 'function') {
    return { next: async (step) => ({ x0: (batches as (step: number) => Tensor)(step), owned: true }), close: () => {} };
  }
  const source = batches as { [Symbol.asyncIterator]?: () => AsyncIterator<Tensor>; [Symbol.iterator]?: () => Iterator<Tensor> } | null;
  let iterator: AsyncIterator<Tensor> | Iterator<Tensor> | undefined;
  if (source !== null && typeof source === 'object') {
    const asyncOpen = source[Symbol.asyncIterator];
    const syncOpen = source[Symbol.iterator];
    if (typeof asyncOpen === 'function') iterator = asyncOpen.call(source);
    else if (typeof syncOpen === 'function') iterator = syncOpen.call(source);
  }
  if (iterator === undefined) {
    throw new ValueError(
      `opts.batches: expected an array of tensors, a function of the step, or an (async) iterable of tensors, received ${describeValue(batches)}`,
    );
  }
  return {
    async next(step) {
      const r = await iterator.next();
      if (r.done) throw new ValueError(`opts.batches: expected ${steps} batches, received an iterable that ended after ${step}`);
      return { x0: r.value, owned: true };
    },
    close: () => void iterator.return?.(),
  };
}

function resolveVariables(o: DistillOptions): Variable[] {
  const variables = o.variables ?? o.student.parameters?.();
  if (variables === undefined) {
    throw new ValueError('opts.variables: expected the variables to train (the student has no parameters() method), received undefined');
  }
  if (!Array.isArray(variables) || variables.length === 0) {
    throw new ValueError(`opts.variables: expected a non-empty array of tf.Variable, received ${describeValue(variables)}`);
  }
  variables.forEach((v, i) => {
    if (!(v instanceof tf.Variable) || v.isDisposed || !v.trainable) {
      throw new ValueError(`opts.variables[${i}]: expected a live trainable tf.Variable, received ${describeValue(v)}`);
    }
  });
  const frozen = new Set(o.teacher.parameters?.() ?? []);
  const shared = variables.find((v) => frozen.has(v));
  if (shared !== undefined) {
    throw new ValueError(`opts.variables: expected none of the teacher's parameters (the teacher stays frozen), received '${shared.name}'`);
  }
  return variables;
}

/**
 * Velocity distillation (SpargeAttention2 §3.2; papers/sparse.md A.3): trains `student` so that
 * u_student(x_t, t) matches the frozen `teacher`'s u_teacher(x_t, t), loss mean ‖u_s − u_t‖² on
 * x_t = (1 − t)·x0 + t·ε, t ~ U[0, 1), ε ~ N(0, 1) drawn from Philox (`seed`), the data only building x_t.
 * The teacher runs outside the gradient tape. Each step reads its loss back before updating: a non-finite
 * loss throws before the student's weights change. Resolves to every step's loss and sparsity.
 */
export async function distill(opts: DistillOptions): Promise<DistillReport> {
  const o = checkOptions(opts, KNOWN) as DistillOptions;
  checkModel(o.teacher, 'opts.teacher');
  checkModel(o.student, 'opts.student');
  if (o.teacher === o.student) throw new ValueError('opts.student: expected a model other than the teacher, received the teacher itself');
  const steps = checkRange(o.steps, { min: 1, max: MAX_DISTILL_STEPS, integer: true }, 'opts.steps');
  const optimizer = o.optimizer as unknown;
  if (
    optimizer === null ||
    typeof optimizer !== 'object' ||
    typeof (optimizer as tf.Optimizer).computeGradients !== 'function' ||
    typeof (optimizer as tf.Optimizer).applyGradients !== 'function'
  ) {
    throw new ValueError(`opts.optimizer: expected a tfjs optimizer (tf.train.adam(…), …), received ${describeValue(optimizer)}`);
  }
  const seed = checkRange(o.seed ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'opts.seed');
  if (o.onStep !== undefined) checkFunction(o.onStep, 'opts.onStep');
  const signal = checkSignal(o.signal, 'opts.signal');
  const variables = resolveVariables(o);
  const source = batchSource(o.batches, steps);
  const report: DistillReport = { losses: [], sparsity: [] };
  let offset = 0;
  try {
    for (let step = 0; step < steps; step++) {
      throwIfAborted(signal, `before step ${step}`);
      const { x0, owned } = await source.next(step);
      try {
        checkBatch(x0, `opts.batches (step ${step})`);
        const span = flowSampleSpan(x0.shape);
        if (offset + span > Number.MAX_SAFE_INTEGER) {
          throw new ValueError(
            `opts.seed: expected a Philox stream long enough for ${steps} steps, received one exhausted at step ${step}`,
          );
        }
        const { loss, sparsity } = await distillStep(o.teacher, o.student, x0, seed, offset, optimizer as tf.Optimizer, variables, step);
        offset += span;
        report.losses.push(loss);
        report.sparsity.push(sparsity);
        await o.onStep?.({ step, loss, sparsity });
      } finally {
        if (owned) x0.dispose();
      }
      await yieldToEventLoop();
    }
  } finally {
    source.close();
  }
  return report;
}

async function distillStep(
  teacher: VelocityModel,
  student: VelocityModel,
  x0: Tensor,
  seed: number,
  offset: number,
  optimizer: tf.Optimizer,
  variables: Variable[],
  step: number,
): Promise<{ loss: number; sparsity: number }> {
  // the teacher's velocity is a constant of the step: computed off the tape, it holds no activations for the backward
  const { xt, t, target } = tf.tidy(() => {
    const s = flowSample(x0, seed, offset);
    return { xt: s.xt, t: s.t, target: predict(teacher, s.xt, s.t, 'opts.teacher').velocity };
  });
  let sparsity: Tensor | undefined;
  let value: Tensor | undefined;
  let grads: Record<string, Tensor> | undefined;
  try {
    const r = optimizer.computeGradients(() => {
      const pred = predict(student, xt, t, 'opts.student');
      sparsity = tf.keep(pred.sparsity);
      return tf.mean(tf.squaredDifference(pred.velocity, target)) as tf.Scalar;
    }, variables);
    value = r.value;
    grads = r.grads as Record<string, Tensor>;
    const [loss, achieved] = await Promise.all([value.data(), (sparsity as Tensor).data()]);
    const l = loss[0] as number;
    if (!Number.isFinite(l)) {
      throw new TesseraError(`loss: expected a finite value at step ${step}, received ${l} (the student's weights were not updated)`);
    }
    optimizer.applyGradients(grads);
    return { loss: l, sparsity: achieved[0] as number };
  } finally {
    tf.dispose([xt, t, target, sparsity, value]);
    if (grads !== undefined) tf.dispose(Object.values(grads));
  }
}
