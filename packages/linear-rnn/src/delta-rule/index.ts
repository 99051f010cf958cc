import { type Tensor, tf } from '@tessera/tensor-core';
import { runDeltaSequence, runDeltaStep, stateOrZeros } from './core.js';
import type { DeltaRuleOptions, DeltaRuleResult, DeltaStepOptions, DeltaStepResult } from './types.js';
import { optionsObject, resolveOptions, resolveScale, validateDeltaInputs } from './validate.js';

export { deltaRuleChunked } from './chunk.js';
export { deltaRuleChunkOp, deltaRuleStepOp, gatedDeltaRuleChunkOp, gatedDeltaRuleStepOp } from './kernel.js';
export { deltaRuleReference, deltaStepReference } from './reference.js';
export type { DeltaInputs, DeltaRuleOptions, DeltaRuleResult, DeltaStepOptions, DeltaStepResult } from './types.js';

/**
 * DeltaNet's delta rule (Schlag et al. 2021; Yang et al. 2024, eq. 1 — papers/linear_rnn.md §3.1), fla's
 * conventions: S_t = S_{t−1} + k_t (β_t (v_t − S_{t−1}ᵀ k_t))ᵀ, o_t = S_tᵀ (scale · q_t).
 * `q, k: [B, H, L, Dk]`, `v: [B, H, L, Dv]`, `beta: [B, H, L]`, `initialState: [B, H, Dk, Dv]` →
 * `{ output: [B, H, L, Dv], finalState: [B, H, Dk, Dv] }`. Keys are used as given (normalise them first,
 * as the layers do). Values are not scanned for NaN (that needs a device readback, which would stall the
 * GPU): a NaN in an input stays in its (b, h) — its outputs are NaN from the chunk holding it on (from
 * that token on in 'recurrent' mode), and so is its final state. Scan with `checkFinite` where needed.
 */
export function deltaRule(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, opts: DeltaRuleOptions = {}): DeltaRuleResult {
  const o = optionsObject(opts);
  const dims = validateDeltaInputs({ q, k, v, beta, state: o.initialState }, false, 'initialState');
  const resolved = resolveOptions(o, dims.dk);
  return tf.tidy(() => runDeltaSequence({ q, k, v, beta, state: stateOrZeros(o.initialState, q, v) }, resolved));
}

/**
 * One decode token of the delta rule: `q_t, k_t: [B, H, Dk]`, `v_t: [B, H, Dv]`, `beta_t: [B, H]`,
 * `state: [B, H, Dk, Dv]` → `{ output: [B, H, Dv], state }`. Equals `deltaRule` on L = 1.
 */
export function deltaRuleStep(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, state: Tensor, opts: DeltaStepOptions = {}): DeltaStepResult {
  const o = optionsObject(opts);
  const dims = validateDeltaInputs({ q, k, v, beta, state }, true, 'state');
  const scale = resolveScale(o.scale, dims.dk);
  return runDeltaStep({ q, k, v, beta, state }, scale);
}
