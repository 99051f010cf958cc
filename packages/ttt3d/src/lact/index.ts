import { checkOptions, type Tensor, tf } from '@tessera/tensor-core';
import { applyReference, columnNormsOf, updateReference } from './reference.js';
import type { FastWeights, FastWeightUpdateOptions, LaCTLearningRateOptions } from './types.js';
import {
  checkFastWeights,
  LEARNING_RATE_OPTIONS,
  MAX_MUON_STEPS,
  UPDATE_OPTIONS,
  validateApply,
  validateLearningRates,
  validateUpdate,
} from './validate.js';

export type { FastWeights, FastWeightUpdateOptions, LaCTLearningRateOptions } from './types.js';
export { MAX_MUON_STEPS };

/**
 * Reads a LaCT SwiGLU fast weight (papers/ttt3d.md §1.2; Zhang et al. 2025, "Test-Time Training Done Right"):
 * `o = f_W(q) = (silu(q·w0) ⊙ (q·w2))·w1` per (batch, head), row vectors as in the authors' code (`FastWeights`
 * gives the layout; in column form f_W(x) = W1(silu(W0 x) ⊙ (W2 x)) with Wj = wjᵀ).
 * `W: { w0 [B, H, Dk, Dh], w1 [B, H, Dh, Dv], w2 [B, H, Dk, Dh] }`, `q: [B, H, L, Dk]` → `[B, H, L, Dv]`.
 * Queries are used as given (the LaCT layer L2-normalises them first). Differentiable with respect to W and q.
 */
export function fastWeightApply(W: FastWeights, q: Tensor): Tensor {
  validateApply(W, q);
  return applyReference(W, q);
}

/**
 * One large-chunk test-time-training step of LaCT (papers/ttt3d.md §1.2; lact_nvs/lact_ttt.py, the `update` branch
 * of `fast_weight_swish_glu_weight_norm_mini_batch_apply`, which tttLRM's model/lact_ttt.py shares):
 *
 * 1. the chunk gradient of L(W) = −Σ_i η_i f_W(k_i)·v_i in closed form (the authors' hand-written backward, no autodiff
 *    inside): ΔW_j = −∂L/∂W_j with matrix j's own per-token rate η_i = lr[b, h, i, j], **summed** over the L tokens;
 * 2. each ΔW_j orthogonalised by `muonSteps` Newton–Schulz steps (`zeropower_via_newtonschulz5`: quintic
 *    (3.4445, −4.7750, 2.0315) after dividing by ‖ΔW_j‖_F + 1e-7, tall matrices transposed; float32 here where the
 *    authors use bfloat16) — this removes the overall scale of the rates, only their relative weighting survives;
 * 3. W_j ← W_j + ΔW_j (no further step size);
 * 4. each column of W_j (over its input axis: Dk for w0 and w2, Dh for w1) rescaled to its norm before the update,
 *    W_j ← W_j / (‖W_j‖_col + 1e-5) · ‖W_j^before‖_col (or to `columnNorms`); those target norms carry no gradient,
 *    as the authors `.detach()` them.
 *
 * `W` as in `fastWeightApply`; `k: [B, H, L, Dk]` (L2-normalised by the LaCT layer), `v: [B, H, L, Dv]`,
 * `lr: [B, H, L, 3]`, the per-token rates of w0, w1, w2 in that order (the authors' lr0, lr1, lr2: see
 * `lactLearningRates`). Options `{ muonSteps = 5, columnNorms }` → the updated `{ w0, w1, w2 }` (new tensors; W is not
 * disposed). Differentiable with respect to W, k, v and lr by autodiff through the closed form, so gradients reach the
 * slow weights that produce them.
 *
 * Chaining calls, each taking the previous result, follows the authors' autoregressive order, except that their loop
 * rescales every chunk to the norms of the weights it started from, whereas each call here takes its input's norms
 * (the two differ by a factor ‖w‖/(‖w‖ + 1e-5) per chunk); pass `columnNorms: fastWeightColumnNorms(W0)` to every
 * call to match exactly. Across separate calls of the authors' model (tttLRM streaming), their norms are the input's,
 * as here.
 */
export function fastWeightUpdate(W: FastWeights, k: Tensor, v: Tensor, lr: Tensor, opts?: FastWeightUpdateOptions): FastWeights {
  const o = checkOptions(opts, UPDATE_OPTIONS);
  const steps = validateUpdate(W, k, v, lr, o);
  return updateReference(W, k, v, lr, steps, o.columnNorms);
}

/**
 * The column norms `fastWeightUpdate` rescales to by default: `{ w0: [B, H, 1, Dh], w1: [B, H, 1, Dv],
 * w2: [B, H, 1, Dh] }`, the L2 norm of each column of each matrix (the authors' `w.norm(dim=1, keepdim=True)` on
 * `[b·h, rows, cols]`). Take them once from the initial fast weights and pass them as `columnNorms` to a chain of
 * updates to reproduce the authors' multi-chunk loop.
 */
export function fastWeightColumnNorms(W: FastWeights): FastWeights {
  checkFastWeights(W, {});
  return columnNormsOf(W);
}

/**
 * LaCT's per-token learning rates (lact_nvs/lact_ttt.py): η = softplus(logits + softplus⁻¹(baseLr)), so a zero logit
 * gives exactly `baseLr` and η > 0 always. `logits` is the layer's `lr_proj(x)` (a linear map of the normalised
 * token, computed in float32 by the authors) in any layout, e.g. `[B, H, L, 3]` for `fastWeightUpdate`'s `lr`; the
 * result has its shape. softplus⁻¹(y) = y + log(−expm1(−y)) is evaluated in float64 on the host; the softplus is tfjs'
 * float32 one (on WebGPU log(1 + eˣ), so rates near 0.01 carry a relative error up to ~1e-5, near 0.001 ~1e-4 — far below
 * what the Newton–Schulz normalisation leaves of their scale). Options `{ baseLr = 0.01 }`.
 */
export function lactLearningRates(logits: Tensor, opts?: LaCTLearningRateOptions): Tensor {
  const o = checkOptions(opts, LEARNING_RATE_OPTIONS);
  const baseLr = validateLearningRates(logits, o);
  const shift = baseLr + Math.log(-Math.expm1(-baseLr));
  return tf.tidy(() => tf.softplus(tf.add(logits, tf.scalar(shift))));
}
