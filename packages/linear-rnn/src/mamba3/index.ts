import { checkOptions, deviceZeros, ShapeError, type Tensor, tf } from '@tessera/tensor-core';
import { checkElements, checkSize } from '../checks.js';
import type { KernelAttrs, KernelTensors, SequenceInput } from './kernel-inputs.js';
import { mamba3ChunkFromZeroOp, mamba3ChunkOp, mamba3ChunkPartsOp, mamba3StepOp, mamba3StepPartsOp } from './op.js';
import { type Unpacked, unpack } from './packing.js';
import { recurrentReference } from './reference.js';
import type {
  Mamba3Dims,
  Mamba3Options,
  Mamba3Result,
  Mamba3State,
  Mamba3StateSizes,
  Mamba3StepOptions,
  Mamba3StepResult,
} from './types.js';
import { checkRank, MAMBA3_OPTIONS, MAMBA3_STEP_OPTIONS, validateChunking, validateMamba3 } from './validate.js';

export type {
  Mamba3Mode,
  Mamba3Options,
  Mamba3Result,
  Mamba3State,
  Mamba3StateSizes,
  Mamba3StepOptions,
  Mamba3StepResult,
} from './types.js';

const STATE_SIZES = ['batch', 'heads', 'rank', 'headDim', 'stateDim', 'angles'] as const satisfies readonly (keyof Mamba3StateSizes)[];

/**
 * A zero state, the start of a sequence: `ssm: [B, H, P, N]`, `k: [B, H, R·N]`, `v: [B, H, R·P]`,
 * `angle: [B, H, Nr]` from `{ batch, heads, rank = 1, headDim: P, stateDim: N, angles: Nr }` (every size a
 * positive integer, N even, Nr ≤ N/2, each tensor at most MAX_TENSOR_ELEMENTS).
 */
export function mamba3ZeroState(sizes: Mamba3StateSizes): Mamba3State {
  const s = checkOptions(sizes, STATE_SIZES, 'sizes');
  const b = checkSize(s.batch, 'sizes.batch');
  const h = checkSize(s.heads, 'sizes.heads');
  const r = checkRank(s.rank ?? 1, 'sizes.rank');
  const p = checkSize(s.headDim, 'sizes.headDim');
  const n = checkSize(s.stateDim, 'sizes.stateDim');
  if (n % 2 !== 0) throw new ShapeError(`sizes.stateDim: expected an even state size (rotations act on pairs), received ${n}`);
  const nr = checkSize(s.angles, 'sizes.angles');
  if (nr > n / 2) throw new ShapeError(`sizes.angles: expected 1 ≤ angles ≤ stateDim/2 = ${n / 2}, received ${nr}`);
  const d = { batch: b, heads: h, rank: r, headDim: p, stateDim: n, angles: nr };
  for (const [key, shape] of Object.entries(stateShapes(d))) checkElements(shape, `sizes (the ${key} tensor)`);
  return zeroState(d);
}

function stateShapes(d: Omit<Mamba3Dims, 'length'>): Record<keyof Mamba3State, number[]> {
  const { batch: b, heads: h } = d;
  return { ssm: [b, h, d.headDim, d.stateDim], k: [b, h, d.rank * d.stateDim], v: [b, h, d.rank * d.headDim], angle: [b, h, d.angles] };
}

/** `mamba3ZeroState` of validated sizes. */
function zeroState(d: Omit<Mamba3Dims, 'length'>): Mamba3State {
  const shapes = stateShapes(d);
  return { ssm: deviceZeros(shapes.ssm), k: deviceZeros(shapes.k), v: deviceZeros(shapes.v), angle: deviceZeros(shapes.angle) };
}

type PerToken = { x: Tensor; dt: Tensor; A: Tensor; B: Tensor; C: Tensor };

/**
 * The per-token tensors the kernels take: A expanded to dt's shape, λ = 1, θ increments 0 and D = 0 where not
 * given. Call inside a tidy (the defaults are fresh tensors).
 */
function sequenceTensors(t: PerToken, o: Mamba3StepOptions, d: Mamba3Dims): Record<SequenceInput, Tensor> {
  const { x, dt, B, C } = t;
  const A = t.A.rank === 1 ? tf.broadcastTo(tf.reshape(t.A, dt.rank === 3 ? [1, d.heads, 1] : [1, d.heads]), dt.shape) : t.A;
  const lambda = o.lambda ?? tf.fill(dt.shape, 1);
  const theta = o.theta ?? deviceZeros([...dt.shape, d.angles]);
  return { x, dt, A, B, C, lambda, theta, D: o.D ?? deviceZeros([d.heads]) };
}

/** Everything the kernels take: `sequenceTensors` and the state, zeros if none. Call inside a tidy. */
function kernelTensors(t: PerToken, o: Mamba3StepOptions, d: Mamba3Dims): KernelTensors {
  const s = o.initialState ?? zeroState(d);
  return { ...sequenceTensors(t, o, d), ssm: s.ssm, k: s.k, v: s.v, angle: s.angle };
}

/**
 * The chunked forward through the op the backend runs fastest: on WebGPU the four-result op (from a zero state,
 * the one that takes none), elsewhere the packed op (the host recurrence on cpu and wasm). Call inside a tidy.
 */
function chunked(t: PerToken, o: Mamba3Options, d: Mamba3Dims, attrs: KernelAttrs): Unpacked {
  if (!mamba3ChunkPartsOp.hasKernel()) return unpack(mamba3ChunkOp(kernelTensors(t, o, d), attrs), d, false);
  const s = o.initialState;
  const seq = sequenceTensors(t, o, d);
  const [y, ssm, k, angle] = (
    s ? mamba3ChunkPartsOp({ ...seq, ssm: s.ssm, k: s.k, v: s.v, angle: s.angle }, attrs) : mamba3ChunkFromZeroOp(seq, attrs)
  ) as [Tensor, Tensor, Tensor, Tensor];
  return { y, ssm, k, angle };
}

/**
 * Mamba-3's SSM over a sequence (Lahoti et al. 2026, arXiv 2603.15569; papers/linear_rnn.md 1.2–1.6):
 * the exponential-trapezoidal recurrence with data-dependent rotary state and MIMO rank R,
 *   S_t = e^{AΔ_t} S_{t−1} + (1−λ_t)Δ_t e^{AΔ_t} Σ_r v_{t−1,r} k̃_{t−1,r}ᵀ + λ_tΔ_t Σ_r v_{t,r} k̃_{t,r}ᵀ,
 *   y_{t,r} = S_t q̃_{t,r} + D v_{t,r},   k̃ = R(θ_t) B_t, q̃ = R(θ_t) C_t, θ_t = θ_{t−1} + π·tanh(theta_t)·Δ_t.
 *
 * Arguments: the five tensors the SSM cannot run without, positional in mamba_ssm's SSM order
 * (`selective_scan_fn(u, delta, A, B, C)`, `mamba_chunk_scan_combined(x, dt, A, B, C)`), then
 * `{ lambda, theta, D, rank, mode, chunkSize, initialState }`. mamba_ssm's Mamba-3 kernel
 * `mamba3_siso_combined(Q, K, V, ADT, DT, Trap, Q_bias, K_bias, Angles, D, Z)` names the same tensors
 * attention-style (Q = C, K = B, V = x, ADT = A·dt) and requires Trap and Angles; here λ and θ are options
 * whose defaults (λ = 1, no rotation) make the call Mamba-2's SSD, so a Mamba-2 user's call runs as is.
 *
 * Shapes (R = `rank`, P = head dim, N = state size, Nr ≤ N/2 rotary angles): `x: [B, H, L, R·P]`
 * (values, rank-major), `dt: [B, H, L]`, `A: [B, H, L]` or `[H]`, `B, C: [B, H, L, R·N]`, `lambda: [B, H, L]`,
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
export function mamba3(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, opts?: Mamba3Options): Mamba3Result {
  const o = checkOptions(opts, MAMBA3_OPTIONS);
  const d = validateMamba3({ x, dt, A, B, C, lambda: o.lambda, theta: o.theta, D: o.D }, o.rank, false, o.initialState);
  const { mode, chunkSize } = validateChunking(o.mode, o.chunkSize);
  const rank = d.rank;
  const out = tf.tidy(() => {
    const parts =
      mode === 'recurrent'
        ? recurrentReference(kernelTensors({ x, dt, A, B, C }, o, d), rank)
        : chunked({ x, dt, A, B, C }, o, d, { rank, chunkSize });
    const v = tf.squeeze(tf.slice(x, [0, 0, d.length - 1], [-1, -1, 1]), [2]);
    return { output: parts.y, ssm: parts.ssm, k: parts.k, v, angle: parts.angle };
  });
  return { output: out.output, finalState: { ssm: out.ssm, k: out.k, v: out.v, angle: out.angle } };
}

/**
 * One decoding step of `mamba3` (mamba_ssm's `Mamba3.step` without the projections): `x: [B, H, R·P]`,
 * `dt: [B, H]`, `A: [B, H]` or `[H]`, `B, C: [B, H, R·N]`, options `{ lambda: [B, H], theta: [B, H, Nr],
 * D: [H], rank, initialState }` (zeros when absent). Returns `output: [B, H, R·P]` and `finalState`, the
 * next call's `initialState`. A WGSL kernel on WebGPU.
 */
export function mamba3Step(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, opts?: Mamba3StepOptions): Mamba3StepResult {
  const o = checkOptions(opts, MAMBA3_STEP_OPTIONS);
  const d = validateMamba3({ x, dt, A, B, C, lambda: o.lambda, theta: o.theta, D: o.D }, o.rank, true, o.initialState);
  const out = tf.tidy(() => {
    const t = kernelTensors({ x, dt, A, B, C }, o, d);
    const attrs = { rank: d.rank, chunkSize: 1 };
    let parts: Unpacked;
    if (mamba3StepPartsOp.hasKernel()) {
      const [y, ssm, k, angle] = mamba3StepPartsOp(t, attrs) as [Tensor, Tensor, Tensor, Tensor];
      parts = { y, ssm, k, angle };
    } else {
      parts = unpack(mamba3StepOp(t, attrs), d, true);
    }
    return { output: parts.y, ssm: parts.ssm, k: parts.k, v: tf.clone(x), angle: parts.angle };
  });
  return { output: out.output, finalState: { ssm: out.ssm, k: out.k, v: out.v, angle: out.angle } };
}
