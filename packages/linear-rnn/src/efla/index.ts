import { checkOptions, type Tensor, tf } from '@tessera/tensor-core';
import { runDeltaSequence, runDeltaStep, stateOrZeros } from '../delta-rule/core.js';
import type { DeltaRuleOptions, DeltaRuleResult, DeltaStepOptions, DeltaStepResult } from '../delta-rule/types.js';
import { DELTA_RULE_OPTIONS, DELTA_STEP_OPTIONS, resolveOptions, resolveScale, validateDeltaInputs } from '../delta-rule/validate.js';
import { eflaStepSize } from './step-size.js';

export { eflaStepSize } from './step-size.js';

/** `efla` options: the delta rule's, plus the log-decay of the gated variant. */
export interface EflaOptions extends DeltaRuleOptions {
  /** Log-decay `[B, H, L]`, named as `gatedDeltaRule`'s g: S ← e^{g} S before each update. */
  g?: Tensor;
}

/** `eflaStep` options. */
export interface EflaStepOptions extends DeltaStepOptions {
  /** Log-decay of this token, `[B, H]`, for the gated variant. */
  g?: Tensor;
}

const EFLA_OPTIONS = [...DELTA_RULE_OPTIONS, 'g'] as const satisfies readonly (keyof EflaOptions)[];
const EFLA_STEP_OPTIONS = [...DELTA_STEP_OPTIONS, 'g'] as const satisfies readonly (keyof EflaStepOptions)[];

/**
 * Error-Free Linear Attention (Lei, Zhang & Poria 2025, eq. 9 — papers/linear_rnn.md §2.2): the exact
 * solution of the delta rule's ODE over a step β, i.e. the delta rule with β_t replaced by
 * α_t = (1 − e^{−β_t‖k_t‖²}) / ‖k_t‖²: S_t = (I − α_t k_t k_tᵀ) S_{t−1} + α_t k_t v_tᵀ, o_t = S_tᵀ (scale · q_t).
 * Keys are used raw (NOT normalised: their norm carries the information); ‖k‖² → 0 takes the limit α → β.
 * With `g`, S decays by e^{g_t} before each update (our extension, as the notes; g = −∞ resets, as in
 * `gatedDeltaRule`). `q, k: [B, H, L, Dk]`, `v: [B, H, L, Dv]`, `beta: [B, H, L]`, options
 * `{ g, mode, chunkSize, initialState, scale }` → `{ output: [B, H, L, Dv], finalState: [B, H, Dk, Dv] }`.
 * Runs the delta rule's chunked form and WGSL kernels on α; NaN propagates as in `deltaRule`.
 */
export function efla(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, opts?: EflaOptions): DeltaRuleResult {
  const o = checkOptions(opts, EFLA_OPTIONS);
  const g = o.g;
  const dims = validateDeltaInputs({ q, k, v, beta, g, state: o.initialState }, false, { name: 'opts.g', required: false });
  const resolved = resolveOptions(o, dims.dk);
  return tf.tidy(() => runDeltaSequence({ q, k, v, beta: eflaStepSize(beta, k), g, state: stateOrZeros(o.initialState, q, v) }, resolved));
}

/**
 * One decode token of EFLA: `q_t, k_t: [B, H, Dk]`, `v_t: [B, H, Dv]`, `beta_t: [B, H]`, options
 * `{ g: [B, H], initialState: [B, H, Dk, Dv] (zeros when absent), scale }` → `{ output: [B, H, Dv], finalState }`.
 */
export function eflaStep(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, opts?: EflaStepOptions): DeltaStepResult {
  const o = checkOptions(opts, EFLA_STEP_OPTIONS);
  const g = o.g;
  const dims = validateDeltaInputs({ q, k, v, beta, g, state: o.initialState }, true, { name: 'opts.g', required: false });
  const scale = resolveScale(o.scale, dims.dk);
  return tf.tidy(() => runDeltaStep({ q, k, v, beta: eflaStepSize(beta, k), g, state: stateOrZeros(o.initialState, q, v) }, scale));
}
