import type { Tensor } from '@tessera/tensor-core';

/** Options shared by `deltaRule`, `gatedDeltaRule` and `efla`. */
export interface DeltaRuleOptions {
  /** 'chunk' (default): the WY/UT chunked form (WGSL on WebGPU); 'recurrent': the per-token reference. */
  mode?: 'chunk' | 'recurrent';
  /** Tokens per chunk of the chunked form; a positive integer, default 64. */
  chunkSize?: number;
  /** Start state `[B, H, Dk, Dv]`; zeros when absent. */
  initialState?: Tensor;
  /** Multiplies q; default Dk^−1/2, as fla. */
  scale?: number;
}

/** What every delta-rule op returns (a type alias, so that `tf.tidy` accepts it as a tensor container). */
export type DeltaRuleResult = {
  /** `[B, H, L, Dv]`. */
  output: Tensor;
  /** The state after the last token, `[B, H, Dk, Dv]` (fla's `output_final_state=True`). */
  finalState: Tensor;
};

/** Options of the one-token decode steps. */
export interface DeltaStepOptions {
  /** The state before the token, `[B, H, Dk, Dv]`; zeros when absent (the start of a sequence). */
  initialState?: Tensor;
  /** Multiplies q; default Dk^−1/2. */
  scale?: number;
}

/** What every decode step returns: pass `finalState` back as the next step's `initialState`. */
export type DeltaStepResult = {
  /** `[B, H, Dv]`. */
  output: Tensor;
  /** The state after the token, `[B, H, Dk, Dv]`. */
  finalState: Tensor;
};

/**
 * The tensors of one call after validation: `beta` already holds the effective step (EFLA's α), and
 * `g` (log-decay) is present only for the gated rules. Sequence ops: `[B, H, L, ·]`; steps: no L axis.
 */
export interface DeltaInputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  beta: Tensor;
  g?: Tensor | undefined;
  state: Tensor;
}

/** Sizes bound by validation. */
export interface DeltaDims {
  batch: number;
  heads: number;
  /** 1 for a step. */
  length: number;
  dk: number;
  dv: number;
}
