import { checkOptions, checkRange, describeValue, stopGradient, type Tensor, tf, ValueError } from '@tessera/tensor-core';

import { flowSample } from './interpolate.js';
import { checkBatch, checkModel } from './validate.js';

/** What a velocity model returns for `xt [B, ...]`. */
export interface VelocityPrediction {
  /** `[B, ...]`, `xt`'s shape: the predicted d x_t / d t. */
  velocity: Tensor;
  /** Scalar: the attention sparsity this call achieved (absent or 0 for dense attention). */
  sparsity?: Tensor;
}

/** A flow-matching model: `velocity(xt [B, ...], t [B]) → { velocity [B, ...], sparsity? }`. */
export interface VelocityModel {
  velocity(xt: Tensor, t: Tensor): VelocityPrediction;
}

export interface FlowLossOptions {
  /** Philox key of t and the noise, a non-negative safe integer. Default 0. */
  seed?: number;
  /** Philox stream position of the draw (advance it by `flowSampleSpan(x0.shape)` per batch). Default 0. */
  offset?: number;
}

/** A loss and the sparsity the (student) model achieved while computing it, both scalars. */
export type FlowLoss = {
  loss: Tensor;
  sparsity: Tensor;
};

const LOSS_OPTIONS = ['seed', 'offset'] as const;

/** Checks the seed and offset of a loss call. */
export function resolveDraw(opts: FlowLossOptions | undefined): { seed: number; offset: number } {
  const o = checkOptions(opts, LOSS_OPTIONS);
  const seed = checkRange(o.seed ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'opts.seed');
  const offset = checkRange(o.offset ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'opts.offset');
  return { seed, offset };
}

/**
 * Runs `model.velocity` and checks what it returns; `name` is the model's argument name. Returns the
 * velocity and a scalar sparsity (a new zero when the model reports none).
 */
export function predict(model: VelocityModel, xt: Tensor, t: Tensor, name: string): { velocity: Tensor; sparsity: Tensor } {
  const out = model.velocity(xt, t) as unknown;
  const where = `${name}.velocity(xt, t)`;
  if (out === null || typeof out !== 'object' || !((out as VelocityPrediction).velocity instanceof tf.Tensor)) {
    throw new ValueError(`${where}: expected { velocity: Tensor, sparsity?: Tensor }, received ${describeValue(out)}`);
  }
  const { velocity, sparsity } = out as VelocityPrediction;
  if (velocity.dtype !== 'float32' || velocity.shape.join() !== xt.shape.join()) {
    throw new ValueError(
      `${where}: expected a float32 velocity shaped like xt [${xt.shape.join(', ')}], received ${velocity.dtype} [${velocity.shape.join(', ')}]`,
    );
  }
  if (sparsity !== undefined && (!(sparsity instanceof tf.Tensor) || sparsity.rank !== 0)) {
    throw new ValueError(`${where}: expected sparsity to be a scalar tensor or absent, received ${describeValue(sparsity)}`);
  }
  return { velocity, sparsity: sparsity ?? tf.scalar(0) };
}

/**
 * The flow-matching (diffusion) loss, mean over all elements of ‖u(x_t, t) − (ε − x0)‖²: x_t = (1 − t)·x0
 * + t·ε, so ε − x0 is the path's velocity (rectified flow, papers/sparse.md A.3). `x0 [B, ...]` float32.
 * This is what pretraining uses, and the "−VD" ablation of SpargeAttention2 (fine-tuning the sparse
 * student on data instead of distilling).
 */
export function flowMatchingLoss(model: VelocityModel, x0: Tensor, opts?: FlowLossOptions): FlowLoss {
  checkModel(model, 'model');
  checkBatch(x0, 'x0');
  const { seed, offset } = resolveDraw(opts);
  return tf.tidy(() => {
    const { t, noise, xt } = flowSample(x0, seed, offset);
    const pred = predict(model, xt, t, 'model');
    return { loss: tf.mean(tf.squaredDifference(pred.velocity, tf.sub(noise, x0))), sparsity: pred.sparsity };
  });
}

/**
 * Velocity distillation (SpargeAttention2 §3.2; papers/sparse.md A.3), mean over all elements of
 * ‖u_student(x_t, t) − u_teacher(x_t, t)‖² on the same x_t = (1 − t)·x0 + t·ε: the data only builds x_t,
 * there is no data target. No gradient reaches the teacher. `x0 [B, ...]` float32.
 */
export function velocityDistillationLoss(teacher: VelocityModel, student: VelocityModel, x0: Tensor, opts?: FlowLossOptions): FlowLoss {
  checkModel(teacher, 'teacher');
  checkModel(student, 'student');
  checkBatch(x0, 'x0');
  const { seed, offset } = resolveDraw(opts);
  return tf.tidy(() => {
    const { t, xt } = flowSample(x0, seed, offset);
    const target = stopGradient(predict(teacher, xt, t, 'teacher').velocity);
    const pred = predict(student, xt, t, 'student');
    return { loss: tf.mean(tf.squaredDifference(pred.velocity, target)), sparsity: pred.sparsity };
  });
}
