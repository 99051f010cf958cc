import { checkOptions, type Tensor, tf } from '@tessera/tensor-core';
import { runDeltaSequence, runDeltaStep, stateOrZeros } from './core.js';
import type { DeltaRuleOptions, DeltaRuleResult, DeltaStepOptions, DeltaStepResult } from './types.js';
import { DELTA_RULE_OPTIONS, DELTA_STEP_OPTIONS, resolveOptions, resolveScale, validateDeltaInputs } from './validate.js';

export type { DeltaRuleOptions, DeltaRuleResult, DeltaStepOptions, DeltaStepResult } from './types.js';

/**
 * DeltaNet's delta rule (Schlag et al. 2021; Yang et al. 2024, eq. 1 — papers/linear_rnn.md §3.1), fla's
 * conventions: S_t = S_{t−1} + k_t (β_t (v_t − S_{t−1}ᵀ k_t))ᵀ, o_t = S_tᵀ (scale · q_t).
 * `q, k: [B, H, L, Dk]`, `v: [B, H, L, Dv]`, `beta: [B, H, L]` (fla's argument order), options
 * `{ mode, chunkSize, initialState: [B, H, Dk, Dv], scale }` →
 * `{ output: [B, H, L, Dv], finalState: [B, H, Dk, Dv] }`. Keys are used as given (normalise them first,
 * as the layers do). Values are not scanned for NaN on WebGPU (that needs a device readback, which would
 * stall the GPU): a NaN in an input stays in its (b, h) — its outputs are NaN from the chunk holding it
 * on (from that token on in 'recurrent' mode), and so is its final state. cpu and wasm reject it.
 */
export function deltaRule(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, opts?: DeltaRuleOptions): DeltaRuleResult {
  const o = checkOptions(opts, DELTA_RULE_OPTIONS);
  const dims = validateDeltaInputs({ q, k, v, beta, state: o.initialState }, false);
  const resolved = resolveOptions(o, dims.dk);
  return tf.tidy(() => runDeltaSequence({ q, k, v, beta, state: stateOrZeros(o.initialState, q, v) }, resolved));
}

/**
 * One decode token of the delta rule: `q_t, k_t: [B, H, Dk]`, `v_t: [B, H, Dv]`, `beta_t: [B, H]`, options
 * `{ initialState: [B, H, Dk, Dv] (zeros when absent), scale }` → `{ output: [B, H, Dv], finalState }`.
 * Equals `deltaRule` on L = 1; pass `finalState` back as the next token's `initialState`.
 */
export function deltaRuleStep(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, opts?: DeltaStepOptions): DeltaStepResult {
  const o = checkOptions(opts, DELTA_STEP_OPTIONS);
  const dims = validateDeltaInputs({ q, k, v, beta, state: o.initialState }, true);
  const scale = resolveScale(o.scale, dims.dk);
  return tf.tidy(() => runDeltaStep({ q, k, v, beta, state: stateOrZeros(o.initialState, q, v) }, scale));
}
