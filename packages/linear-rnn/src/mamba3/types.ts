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

/** Per-token inputs of `mamba3` besides the values `x`; shapes as documented on `mamba3`. */
export interface Mamba3Inputs {
  /** Δ after softplus, `[B, H, L]`, positive. */
  dt: Tensor;
  /** The decay rate A ≤ 0: data-dependent `[B, H, L]` (Mamba-3) or per head `[H]` (Mamba-2). */
  A: Tensor;
  /** Keys (mamba_ssm's K = B), after RMSNorm and bias, `[B, H, L, R·N]`. */
  B: Tensor;
  /** Queries (mamba_ssm's Q = C), after RMSNorm and bias, `[B, H, L, R·N]`. */
  C: Tensor;
  /** The trapezoid weight λ = σ(trap) ∈ [0, 1], `[B, H, L]`; λ = 1 is Mamba-2's Euler rule. */
  lambda: Tensor;
  /** Raw angle projections, `[B, H, L, Nr]` with 1 ≤ Nr ≤ N/2: θ_t = θ_{t−1} + π·tanh(theta_t)·Δ_t. */
  theta: Tensor;
  /** The skip weight per head, `[H]`; omitted means no skip. */
  D?: Tensor;
}

export type Mamba3Mode = 'chunk' | 'recurrent';

export interface Mamba3Options extends Mamba3Inputs {
  /** MIMO rank R ≥ 1 (default 1, SISO): x, B and C hold R rank-major blocks in their last axis. */
  rank?: number;
  /** 'chunk' (default): SSD-style chunked form (WGSL on WebGPU); 'recurrent': the per-token reference. */
  mode?: Mamba3Mode;
  /** Tokens per chunk of the tfjs chunked form (default 64). */
  chunkSize?: number;
  initialState?: Mamba3State;
}

export interface Mamba3Result {
  /** `[B, H, L, R·P]`: y_{t,r} = S_t q̃_{t,r} + D v_{t,r}, before any output gate. */
  output: Tensor;
  finalState: Mamba3State;
}

/** One decoding step's inputs: as `Mamba3Inputs` without the L axis. */
export interface Mamba3StepInputs {
  /** `[B, H]` */
  dt: Tensor;
  /** `[B, H]` or `[H]` */
  A: Tensor;
  /** `[B, H, R·N]` */
  B: Tensor;
  /** `[B, H, R·N]` */
  C: Tensor;
  /** `[B, H]` */
  lambda: Tensor;
  /** `[B, H, Nr]` */
  theta: Tensor;
  /** `[H]` */
  D?: Tensor;
  rank?: number;
}

export interface Mamba3StepResult {
  /** `[B, H, R·P]` */
  output: Tensor;
  state: Mamba3State;
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
