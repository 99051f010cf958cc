import {
  checkDtype,
  checkRange,
  checkShape,
  type Dims,
  describeValue,
  ShapeError,
  type Tensor,
  tf,
  ValueError,
} from '@tessera/tensor-core';
import type { FastWeights, FastWeightUpdateOptions, LaCTLearningRateOptions } from './types.js';

/** The most Newton–Schulz steps `fastWeightUpdate` runs: the quintic stops converging after ~5 (its fixed band), so more only costs time. */
export const MAX_MUON_STEPS = 16;

/** The authors' `muon_update_steps` (lact_nvs/config/*.yaml, tttLRM configs/dl3dv_*.yaml). */
export const DEFAULT_MUON_STEPS = 5;

/** The authors' `base_lr`. */
export const DEFAULT_BASE_LR = 0.01;

export const UPDATE_OPTIONS = ['muonSteps', 'columnNorms'] as const satisfies readonly (keyof FastWeightUpdateOptions)[];
export const LEARNING_RATE_OPTIONS = ['baseLr'] as const satisfies readonly (keyof LaCTLearningRateOptions)[];

const WEIGHT_KEYS = ['w0', 'w1', 'w2'] as const;

/** The spec of each fast-weight matrix (FastWeights' doc comment). */
const WEIGHT_SPECS = { w0: ['B', 'H', 'Dk', 'Dh'], w1: ['B', 'H', 'Dh', 'Dv'], w2: ['B', 'H', 'Dk', 'Dh'] } as const;

/** The spec of each matrix's column norms. */
const NORM_SPECS = { w0: ['B', 'H', 1, 'Dh'], w1: ['B', 'H', 1, 'Dv'], w2: ['B', 'H', 1, 'Dh'] } as const;

function checkWeightObject(w: unknown, name: string): asserts w is FastWeights {
  if (w === null || typeof w !== 'object' || Array.isArray(w) || w instanceof tf.Tensor) {
    throw new ValueError(`${name}: expected fast weights { w0, w1, w2 }, received ${describeValue(w)}`);
  }
  for (const key of Object.keys(w)) {
    if (!(WEIGHT_KEYS as readonly string[]).includes(key)) {
      throw new ValueError(`${name}.${key}: expected only the fast weights w0, w1, w2, received an unknown key`);
    }
  }
}

/**
 * Checks `W` (shapes bound into `dims`: B, H, Dk, Dh, Dv; float32; every size ≥ 1). Errors name `W.w0` etc.
 */
export function checkFastWeights(w: FastWeights, dims: Dims, name = 'W'): void {
  checkWeightObject(w, name);
  for (const key of WEIGHT_KEYS) {
    checkShape(w[key], WEIGHT_SPECS[key], `${name}.${key}`, dims);
    checkDtype(w[key], 'float32', `${name}.${key}`);
  }
  for (const key of WEIGHT_KEYS) {
    const t = w[key];
    if (t.size === 0) throw new ShapeError(`${name}.${key}: expected every dimension ≥ 1, received shape [${t.shape.join(', ')}]`);
  }
}

/** Checks a float32 `[B, H, L, D]` activation (L ≥ 1) against the bound dims. */
function checkTokens(t: Tensor, last: string | number, name: string, dims: Dims, length: string): void {
  checkShape(t, ['B', 'H', length, last], name, dims);
  checkDtype(t, 'float32', name);
  if (t.shape[2] === 0) throw new ShapeError(`${name}: expected at least one token (L ≥ 1), received shape [${t.shape.join(', ')}]`);
}

/** Checks every argument of `fastWeightApply`. */
export function validateApply(w: FastWeights, q: Tensor): void {
  const dims: Dims = {};
  checkFastWeights(w, dims);
  checkTokens(q, 'Dk', 'q', dims, 'L');
}

/** Checks every argument of `fastWeightUpdate`; returns the resolved step count. */
export function validateUpdate(w: FastWeights, k: Tensor, v: Tensor, lr: Tensor, opts: FastWeightUpdateOptions): number {
  const dims: Dims = {};
  checkFastWeights(w, dims);
  checkTokens(k, 'Dk', 'k', dims, 'L');
  checkTokens(v, 'Dv', 'v', dims, 'L');
  checkTokens(lr, 3, 'lr', dims, 'L');
  const steps = checkRange(
    opts.muonSteps ?? DEFAULT_MUON_STEPS,
    { min: 0, max: MAX_MUON_STEPS, integer: true, hint: 'Newton–Schulz steps; 0 skips the orthogonalisation' },
    'muonSteps',
  );
  if (opts.columnNorms !== undefined) {
    checkWeightObject(opts.columnNorms, 'columnNorms');
    for (const key of WEIGHT_KEYS) {
      checkShape(opts.columnNorms[key], NORM_SPECS[key], `columnNorms.${key}`, dims);
      checkDtype(opts.columnNorms[key], 'float32', `columnNorms.${key}`);
    }
  }
  return steps;
}

/** Checks `lactLearningRates`' arguments; returns base_lr. */
export function validateLearningRates(logits: Tensor, opts: LaCTLearningRateOptions): number {
  checkDtype(logits, 'float32', 'logits');
  return checkRange(opts.baseLr ?? DEFAULT_BASE_LR, { min: 0, minExclusive: true }, 'baseLr');
}
