import { deviceZeros, type Tensor, tf } from '@tessera/tensor-core';
import type { KernelTensors } from './kernel-inputs.js';
import { mamba3ChunkOp, mamba3StepOp } from './op.js';
import { unpack } from './packing.js';
import { recurrentReference } from './reference.js';
import type { Mamba3Dims, Mamba3Options, Mamba3Result, Mamba3State, Mamba3StepInputs, Mamba3StepResult } from './types.js';
import { validateChunking, validateMamba3 } from './validate.js';

/**
 * A zero state, the start of a sequence: `ssm: [B, H, P, N]`, `k: [B, H, R·N]`, `v: [B, H, R·P]`,
 * `angle: [B, H, Nr]` (sizes named as in `Mamba3Dims`).
 */
export function mamba3ZeroState(d: Pick<Mamba3Dims, 'batch' | 'heads' | 'rank' | 'headDim' | 'stateDim' | 'angles'>): Mamba3State {
  const { batch: b, heads: h } = d;
  return {
    ssm: deviceZeros([b, h, d.headDim, d.stateDim]),
    k: deviceZeros([b, h, d.rank * d.stateDim]),
    v: deviceZeros([b, h, d.rank * d.headDim]),
    angle: deviceZeros([b, h, d.angles]),
  };
}

/** Everything the kernels take: A expanded to dt's shape, D defaulted to 0, a zero state if none. */
function kernelTensors(x: Tensor, o: Mamba3StepInputs, d: Mamba3Dims, state: Mamba3State | undefined): KernelTensors {
  const A = o.A.rank === 1 ? tf.broadcastTo(tf.reshape(o.A, o.dt.rank === 3 ? [1, d.heads, 1] : [1, d.heads]), o.dt.shape) : o.A;
  const s = state ?? mamba3ZeroState(d);
  return { x, dt: o.dt, A, B: o.B, C: o.C, lambda: o.lambda, theta: o.theta, D: o.D ?? deviceZeros([d.heads]), ...s };
}

/**
 * Mamba-3's SSM over a sequence (Lahoti et al. 2026, arXiv 2603.15569; papers/linear_rnn.md 1.2–1.6):
 * the exponential-trapezoidal recurrence with data-dependent rotary state and MIMO rank R,
 *   S_t = e^{AΔ_t} S_{t−1} + (1−λ_t)Δ_t e^{AΔ_t} Σ_r v_{t−1,r} k̃_{t−1,r}ᵀ + λ_tΔ_t Σ_r v_{t,r} k̃_{t,r}ᵀ,
 *   y_{t,r} = S_t q̃_{t,r} + D v_{t,r},   k̃ = R(θ_t) B_t, q̃ = R(θ_t) C_t, θ_t = θ_{t−1} + π·tanh(theta_t)·Δ_t.
 *
 * Shapes (R = `rank`, P = head dim, N = state size, Nr ≤ N/2 rotary angles): `x: [B, H, L, R·P]`
 * (values, rank-major), `dt, lambda: [B, H, L]`, `A: [B, H, L]` or `[H]`, `B, C: [B, H, L, R·N]`,
 * `theta: [B, H, L, Nr]`, `D: [H]`. Returns `output: [B, H, L, R·P]` (before the z gate) and the state
 * after the last token. 'chunk' mode runs a WGSL kernel on WebGPU and the differentiable tfjs chunked
 * form elsewhere; 'recurrent' runs the per-token reference.
 *
 * Numerics are mamba_ssm's references (`mamba3_siso_step_ref`, `mamba3_siso_fwd_ref`,
 * `mamba3_MIMO_step_ref`), with these deliberate differences in the interface: λ is passed after the
 * sigmoid (they take the trap logits); B and C arrive normalised and biased (they add Q/K biases inside);
 * A and Δ are separate (they take ADT = AΔ); the z gate is left to the layer (they fuse it); the angle
 * state is kept mod 2π for every rank (the MIMO step reference leaves it unwrapped; cos and sin agree);
 * rotation pairs are adjacent, (2j, 2j+1), for every rank, as in both step references (mamba_ssm's MIMO
 * TileLang kernel pairs j with j + N/2); the state's `v` holds the rank-projected values (as the MIMO
 * step reference), and `k` is `[B, H, R·N]` rank-major rather than `(B, R, H, N)`.
 */
export function mamba3(x: Tensor, opts: Mamba3Options): Mamba3Result {
  const o = opts ?? ({} as Mamba3Options);
  const rank = o.rank ?? 1;
  const mode = o.mode ?? 'chunk';
  const chunkSize = o.chunkSize ?? 64;
  const d = validateMamba3({ x, dt: o.dt, A: o.A, B: o.B, C: o.C, lambda: o.lambda, theta: o.theta, D: o.D }, rank, false, o.initialState);
  validateChunking(mode, chunkSize);
  const out = tf.tidy(() => {
    const t = kernelTensors(x, o, d, o.initialState);
    const parts = mode === 'recurrent' ? recurrentReference(t, rank) : unpack(mamba3ChunkOp(t, { rank, chunkSize }), d, false);
    const v = tf.squeeze(tf.slice(x, [0, 0, d.length - 1], [-1, -1, 1]), [2]);
    return { output: parts.y, ssm: parts.ssm, k: parts.k, v, angle: parts.angle };
  });
  return { output: out.output, finalState: { ssm: out.ssm, k: out.k, v: out.v, angle: out.angle } };
}

/**
 * One decoding step of `mamba3` (mamba_ssm's `Mamba3.step` without the projections): `x: [B, H, R·P]`,
 * `dt, lambda: [B, H]`, `A: [B, H]` or `[H]`, `B, C: [B, H, R·N]`, `theta: [B, H, Nr]`, `D: [H]`; `state`
 * defaults to zeros. Returns `output: [B, H, R·P]` and the next state. A WGSL kernel on WebGPU.
 */
export function mamba3Step(x: Tensor, inputs: Mamba3StepInputs, state?: Mamba3State): Mamba3StepResult {
  const o = inputs ?? ({} as Mamba3StepInputs);
  const rank = o.rank ?? 1;
  const d = validateMamba3({ x, dt: o.dt, A: o.A, B: o.B, C: o.C, lambda: o.lambda, theta: o.theta, D: o.D }, rank, true, state);
  const out = tf.tidy(() => {
    const parts = unpack(mamba3StepOp(kernelTensors(x, o, d, state), { rank, chunkSize: 1 }), d, true);
    return { output: parts.y, ssm: parts.ssm, k: parts.k, v: tf.clone(x), angle: parts.angle };
  });
  return { output: out.output, state: { ssm: out.ssm, k: out.k, v: out.v, angle: out.angle } };
}
