import { checkOptions, type Tensor, tf } from '@tessera/tensor-core';
import { runDeltaSequence, runDeltaStep, stateOrZeros } from '../delta-rule/core.js';
import type { DeltaRuleOptions, DeltaRuleResult, DeltaStepOptions, DeltaStepResult } from '../delta-rule/types.js';
import { DELTA_RULE_OPTIONS, DELTA_STEP_OPTIONS, resolveOptions, resolveScale, validateDeltaInputs } from '../delta-rule/validate.js';

/**
 * Gated DeltaNet's gated delta rule (Yang, Kautz & Hatamizadeh 2025, eq. 10 — papers/linear_rnn.md
 * §3.1), fla's `naive_recurrent_gated_delta_rule`: the state decays by e^{g_t} BEFORE the delta update,
 * S_t = e^{g_t} S_{t−1} + k_t (β_t (v_t − e^{g_t} S_{t−1}ᵀ k_t))ᵀ, o_t = S_tᵀ (scale · q_t).
 * `q, k: [B, H, L, Dk]`, `v: [B, H, L, Dv]`, `beta, g: [B, H, L]` (g the log-decay, usually ≤ 0; fla's
 * order q, k, v, beta, g), options `{ mode, chunkSize, initialState: [B, H, Dk, Dv], scale }` →
 * `{ output: [B, H, L, Dv], finalState: [B, H, Dk, Dv] }`.
 * The delta rule's WY/UT chunked form with chunk-local cumulative decay (§3.3) and its WGSL kernels
 * run it. g = −∞ (or any g below −104, where e^g is 0 in float32) is a full reset of the state, in
 * every mode; NaN propagates as in `deltaRule`.
 */
export function gatedDeltaRule(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, g: Tensor, opts?: DeltaRuleOptions): DeltaRuleResult {
  const o = checkOptions(opts, DELTA_RULE_OPTIONS);
  const dims = validateDeltaInputs({ q, k, v, beta, g, state: o.initialState }, false, { name: 'g', required: true });
  const resolved = resolveOptions(o, dims.dk);
  return tf.tidy(() => runDeltaSequence({ q, k, v, beta, g, state: stateOrZeros(o.initialState, q, v) }, resolved));
}

/**
 * One decode token of the gated delta rule: `q_t, k_t: [B, H, Dk]`, `v_t: [B, H, Dv]`, `beta_t, g_t: [B, H]`,
 * options `{ initialState: [B, H, Dk, Dv] (zeros when absent), scale }` → `{ output: [B, H, Dv], finalState }`.
 */
export function gatedDeltaRuleStep(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, g: Tensor, opts?: DeltaStepOptions): DeltaStepResult {
  const o = checkOptions(opts, DELTA_STEP_OPTIONS);
  const dims = validateDeltaInputs({ q, k, v, beta, g, state: o.initialState }, true, { name: 'g', required: true });
  const scale = resolveScale(o.scale, dims.dk);
  return tf.tidy(() => runDeltaStep({ q, k, v, beta, g, state: stateOrZeros(o.initialState, q, v) }, scale));
}
