import type { Tensor } from '@tessera/tensor-core';

/**
 * SwiGLU fast weights of one LaCT layer, one set per (batch, head), in the layout of the authors' NVS code
 * (lact_nvs/lact_ttt.py, `fast_weight_swish_glu_weight_norm_mini_batch_apply`: `w0, w2: [b, d, dh]`,
 * `w1: [b, dh, d]`, row vectors on the left), with the authors' `b·h` axis split into `[B, H]`:
 *
 * - `w0: [B, H, Dk, Dh]` — the gate projection (SiLU branch),
 * - `w1: [B, H, Dh, Dv]` — the output projection,
 * - `w2: [B, H, Dk, Dh]` — the linear (multiplied) branch,
 *
 * so that `f_W(x) = (silu(x·w0) ⊙ (x·w2))·w1` for a row vector `x` of length Dk. The paper and the issue write the
 * same function for column vectors, `f_W(x) = W1(silu(W0 x) ⊙ (W2 x))`, with W0 = w0ᵀ, W1 = w1ᵀ, W2 = w2ᵀ (LaCT's
 * paper numbers them W1, W2, W3 and puts W2 outside; we keep the code's names w0, w1, w2). The authors use
 * Dk = Dv = head dim and Dh = inter_multi · head dim (768 and 3072 in tttLRM); Dk ≠ Dv is allowed here.
 * A type alias rather than an interface so that `tf.tidy` accepts it as a tensor container.
 */
export type FastWeights = { w0: Tensor; w1: Tensor; w2: Tensor };

/** Options of `fastWeightUpdate`. */
export interface FastWeightUpdateOptions {
  /**
   * Newton–Schulz steps applied to each matrix's chunk gradient (`zeropower_via_newtonschulz5`, Muon); the authors'
   * NVS and tttLRM configs use 5 (`muon_update_steps: 5`). 0 adds the raw summed gradient (plain gradient descent,
   * as the authors' LLM code does with `use_muon` off). An integer 0 ≤ muonSteps ≤ `MAX_MUON_STEPS`. Default 5.
   */
  muonSteps?: number;
  /**
   * The column norms each updated matrix is rescaled to (`w0: [B, H, 1, Dh]`, `w1: [B, H, 1, Dv]`,
   * `w2: [B, H, 1, Dh]`, as `fastWeightColumnNorms` returns them). Default: the column norms of `W` itself. Pass
   * the norms of the weights a sequence of chunk updates started from to reproduce the authors' loop exactly (it
   * takes the norms once, before its first update). No gradient flows into them (the authors detach them).
   */
  columnNorms?: FastWeights;
}

/** Options of `lactLearningRates`. */
export interface LaCTLearningRateOptions {
  /** The learning rate a zero logit maps to (`base_lr`; 0.01 in LaCT's NVS and tttLRM configs). A finite number > 0. */
  baseLr?: number;
}
