import type { Tensor } from '@tessera/tensor-core';

/**
 * Everything Mamba-3 carries from one token to the next (the decode cache of mamba_ssm's `Mamba3`,
 * `allocate_inference_cache`): with `R` the MIMO rank, `P` the head dim, `N` the state size and `Nr` the
 * number of rotary angles,
 * - `ssm`: the state S `[B, H, P, N]` (y = S q̃ + D v),
 * - `k`: the previous token's keys (B), already rotated by their own angle, `[B, H, R·N]` (rank-major),
 * - `v`: the previous token's values (x), `[B, H, R·P]` (rank-major),
 * - `angle`: the cumulative rotary angle θ of the previous token, in [0, 2π), `[B, H, Nr]`.
 * The trapezoidal rule needs `k` and `v` because token t's update reads token t−1's input
 * (papers/linear_rnn.md 1.2). A zero state is the start of a sequence.
 */
export interface Mamba3State {
  ssm: Tensor;
  k: Tensor;
  v: Tensor;
  angle: Tensor;
}

export type Mamba3Mode = 'chunk' | 'recurrent';

/**
 * Options of `mamba3`: everything but the five tensors the SSM cannot run without (`x, dt, A, B, C`,
 * positional). Shapes as documented on `mamba3`.
 */
export interface Mamba3Options {
  /**
   * The trapezoid weight λ = σ(trap) ∈ [0, 1], `[B, H, L]`. Default 1 everywhere: Mamba-2's
   * exponential-Euler rule (mamba_ssm takes the logits, `Trap`, as a required argument).
   */
  lambda?: Tensor;
  /**
   * Raw angle projections, `[B, H, L, Nr]` with 1 ≤ Nr ≤ N/2: θ_t = θ_{t−1} + π·tanh(theta_t)·Δ_t. Default
   * no rotation (θ stays at the incoming state's angle; Nr is then that state's, or 1).
   */
  theta?: Tensor;
  /** The skip weight per head, `[H]`; default no skip. */
  D?: Tensor;
  /** MIMO rank R, 1 ≤ R ≤ 64 (default 1, SISO): x, B and C hold R rank-major blocks in their last axis. */
  rank?: number;
  /** 'chunk' (default): SSD-style chunked form (WGSL on WebGPU); 'recurrent': the per-token reference. */
  mode?: Mamba3Mode;
  /** Tokens per chunk of the tfjs chunked form, 1 … 256 (default 64). */
  chunkSize?: number;
  /** The state before the first token; zeros when absent (the start of a sequence). */
  initialState?: Mamba3State;
}

export interface Mamba3Result {
  /** `[B, H, L, R·P]`: y_{t,r} = S_t q̃_{t,r} + D v_{t,r}, before any output gate. */
  output: Tensor;
  /** The state after the last token: pass it back as `initialState`. */
  finalState: Mamba3State;
}

/** Options of `mamba3Step`: as `Mamba3Options` without the L axis, mode and chunking. */
export interface Mamba3StepOptions {
  /** `[B, H]`; default 1. */
  lambda?: Tensor;
  /** `[B, H, Nr]`; default no rotation. */
  theta?: Tensor;
  /** `[H]` */
  D?: Tensor;
  rank?: number;
  /** The state before the token; zeros when absent. */
  initialState?: Mamba3State;
}

export interface Mamba3StepResult {
  /** `[B, H, R·P]` */
  output: Tensor;
  /** The state after the token: pass it back as the next step's `initialState`. */
  finalState: Mamba3State;
}

/** The sizes of a zero state (`mamba3ZeroState`). */
export interface Mamba3StateSizes {
  batch: number;
  heads: number;
  /** MIMO rank R (default 1). */
  rank?: number;
  /** P */
  headDim: number;
  /** N (even). */
  stateDim: number;
  /** Nr, 1 ≤ Nr ≤ N/2. */
  angles: number;
}

/** Sizes every Mamba-3 kernel works with, bound once by validation. */
export interface Mamba3Dims {
  batch: number;
  heads: number;
  /** Sequence length (1 for a step). */
  length: number;
  rank: number;
  headDim: number;
  stateDim: number;
  angles: number;
}
