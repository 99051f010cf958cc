import { checkDtype, checkOptions, checkRange, describeValue, ShapeError, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { checkTemperature } from '../validate.js';
import { BOK_PRESETS, type BokPresetName } from './presets.js';

/**
 * Coverage weights w(v) ≥ 0 of Eq. 15: 'uniform-top-r' = 1 on the r most probable tokens under p and 0
 * elsewhere (the paper's Top-M indicator); 'prob' = p itself; or a nonnegative float32 tensor `[B, V]`
 * or `[V]` (its values are not read back, so nonnegativity is the caller's contract).
 */
export type BokWeights = 'uniform-top-r' | 'prob' | Tensor;

export interface BestOfKOptions {
  /** Coverage budget K (Eq. 14): the number of samples the downstream pipeline draws; an integer ≥ 1. */
  k: number;
  /** KL anchor strength λ ≥ 0; required unless `preset` is given. */
  lambda?: number;
  /** Coverage strength β ≥ 0 (the objective uses β̄ = λβ, Eq. 17); required unless `preset` is given. */
  beta?: number;
  /** One of the paper's (β, λ) settings, instead of `beta` and `lambda`. */
  preset?: BokPresetName;
  /** Step size η > 0; default 1/L with L the objective's relative smoothness (see `defaultStepSize`). */
  eta?: number;
  /** Mirror-ascent steps J (an integer in [0, `BOK_MAX_STEPS`] = [0, 1000]); default 5, as in the paper's experiments. */
  steps?: number;
  /** Coverage weights; default 'uniform-top-r'. */
  weights?: BokWeights;
  /** r for 'uniform-top-r' (integer in [1, V]); default min(2K, V). */
  r?: number;
  /** Temperature T > 0 of both the reference p = softmax(logits/T) and the scores s = log p; default 1. */
  temperature?: number;
}

/** Validated settings, with the preset expanded and β̄ = λβ precomputed; `r` is bound to V by `bindBestOfK`. */
export interface BokSettings {
  k: number;
  lambda: number;
  beta: number;
  betaBar: number;
  eta: number | undefined;
  steps: number;
  weights: BokWeights;
  r: number | undefined;
  temperature: number;
}

/** Settings checked against a logits tensor of `rows` × `vocab`. */
export interface BoundBokSettings extends BokSettings {
  r: number;
}
const BEST_OF_K_OPTIONS = ['k', 'lambda', 'beta', 'preset', 'eta', 'steps', 'weights', 'r', 'temperature'] as const;

/**
 * The most mirror-ascent steps `bestOfK` takes. The call is synchronous (it queues GPU work, or runs on
 * the CPU at once), so its work is bounded instead of cancellable: with the default η = 1/L a handful
 * of steps nearly solve the objective, and 1000 is far past where the iterates stop moving.
 */
export const BOK_MAX_STEPS = 1000;

function resolveStrengths(opts: BestOfKOptions, prefix: string): { lambda: number; beta: number } {
  if (opts.preset !== undefined) {
    if (!Object.hasOwn(BOK_PRESETS, opts.preset)) {
      throw new ValueError(
        `${prefix}preset: expected one of ${Object.keys(BOK_PRESETS).join(', ')}, received ${describeValue(opts.preset)}`,
      );
    }
    if (opts.lambda !== undefined || opts.beta !== undefined) {
      throw new ValueError(
        `${prefix}preset: expected either a preset or explicit beta and lambda, received preset ${describeValue(opts.preset)} with beta ${describeValue(opts.beta)} and lambda ${describeValue(opts.lambda)}`,
      );
    }
    return BOK_PRESETS[opts.preset];
  }
  if (opts.lambda === undefined || opts.beta === undefined) {
    throw new ValueError(
      `${prefix}lambda, ${prefix}beta: expected both (or a preset: ${Object.keys(BOK_PRESETS).join(', ')}), received lambda ${describeValue(opts.lambda)} and beta ${describeValue(opts.beta)}`,
    );
  }
  return {
    lambda: checkRange(opts.lambda, { min: 0 }, `${prefix}lambda`),
    beta: checkRange(opts.beta, { min: 0 }, `${prefix}beta`),
  };
}

function checkWeightTensor(weights: Tensor, prefix: string): void {
  if (weights === null || typeof weights !== 'object' || !Array.isArray(weights.shape)) {
    throw new ValueError(
      `${prefix}weights: expected 'uniform-top-r', 'prob' or a tensor [B, V] or [V], received ${describeValue(weights)}`,
    );
  }
  if (weights.isDisposed) {
    throw new ValueError(`${prefix}weights: expected a live tensor, received a disposed ${describeValue(weights)}`);
  }
  checkDtype(weights, 'float32', `${prefix}weights`);
}

/**
 * Validates Best-of-K options that do not depend on the logits; `prefix` names the options object in
 * messages (e.g. 'regularizer.' inside a sampler spec). Throws `ValueError`/`DtypeError`.
 */
export function resolveBestOfK(options: BestOfKOptions, prefix = ''): BokSettings {
  const opts = checkOptions(options, BEST_OF_K_OPTIONS, prefix === '' ? 'opts' : prefix.slice(0, -1));
  const k = checkRange(opts.k, { min: 1, integer: true }, `${prefix}k`);
  const { lambda, beta } = resolveStrengths(opts, prefix);
  const eta = opts.eta === undefined ? undefined : checkRange(opts.eta, { min: 0, minExclusive: true }, `${prefix}eta`);
  const steps = checkRange(opts.steps ?? 5, { min: 0, max: BOK_MAX_STEPS, integer: true }, `${prefix}steps`);
  const temperature = checkTemperature(opts.temperature ?? 1, `${prefix}temperature`);
  const weights = opts.weights ?? 'uniform-top-r';
  if (typeof weights === 'string' && weights !== 'uniform-top-r' && weights !== 'prob') {
    throw new ValueError(
      `${prefix}weights: expected 'uniform-top-r', 'prob' or a tensor [B, V] or [V], received ${describeValue(weights)}`,
    );
  }
  if (typeof weights !== 'string') checkWeightTensor(weights, prefix);
  if (opts.r !== undefined && weights !== 'uniform-top-r') {
    throw new ValueError(
      `${prefix}r: expected only with weights 'uniform-top-r', received r ${describeValue(opts.r)} with weights ${describeValue(weights)}`,
    );
  }
  const r = opts.r === undefined ? undefined : checkRange(opts.r, { min: 1, integer: true }, `${prefix}r`);
  return { k, lambda, beta, betaBar: lambda * beta, eta, steps, weights, r, temperature };
}

/** Checks the settings against logits of `rows` × `vocab` and fills the default r = min(2K, V). */
export function bindBestOfK(settings: BokSettings, rows: number, vocab: number, prefix = ''): BoundBokSettings {
  const { weights } = settings;
  if (typeof weights !== 'string') {
    const ok =
      (weights.rank === 1 && weights.shape[0] === vocab) || (weights.rank === 2 && weights.shape[0] === rows && weights.shape[1] === vocab);
    if (!ok) {
      throw new ShapeError(`${prefix}weights: expected shape [${rows}, ${vocab}] or [${vocab}], received [${weights.shape.join(', ')}]`);
    }
  }
  const r = checkRange(settings.r ?? Math.min(2 * settings.k, vocab), { min: 1, max: vocab, integer: true }, `${prefix}r`);
  return { ...settings, r };
}
