import {
  checkOptions,
  checkRange,
  checkShape,
  Module,
  philoxUniform,
  type Tensor,
  tf,
  ValueError,
  type Variable,
} from '@tessera/tensor-core';
import { checkBoolean, checkChunkSize, checkElements, checkSize } from '../checks.js';
import { type MambaLayerExtras, type MambaSsmConfig, mamba3OptionsFromMamba } from '../interop/mamba-config.js';
import { mamba3, type Mamba3State, mamba3Step, mamba3ZeroState } from '../mamba3/index.js';
import { validateState } from '../mamba3/validate.js';
import { Linear, RMSNorm } from '@tessera/tensor-core';
import { MAX_SEED } from './blocks.js';
import type { LayerCallOptions } from './delta-net.js';

export interface Mamba3Config {
  /** Model width D. Default 64. */
  dModel?: number;
  /** State size N per head. Default 16. */
  dState?: number;
  /** Head dim P. Default 16. */
  headDim?: number;
  /** d_inner = expand · dModel. Default 2. */
  expand?: number;
  /** MIMO rank R (1 = SISO), 1 … 64. Default 1. */
  rank?: number;
  /** Fraction of the state dims that rotate: 0.5 (mamba_ssm's default) or 1. */
  ropeFraction?: 0.5 | 1;
  /** Δ at initialisation is log-uniform in [dtMin, dtMax], floored at dtInitFloor. Defaults 1e-3, 1e-1, 1e-4. */
  dtMin?: number;
  dtMax?: number;
  dtInitFloor?: number;
  /** A ≤ −aFloor. Default 1e-4. */
  aFloor?: number;
  /** Chunk size of the tfjs chunked form, 1 … 256. Default 64. */
  chunkSize?: number;
  /**
   * B/C groups G (mamba_ssm's `ngroups`), a divisor of the head count: head h reads group ⌊h·G/H⌋, so the
   * projection holds G·R·N values each for B and C, laid out (rank, group, N). Default 1.
   */
  ngroups?: number;
  /**
   * mamba_ssm's `is_outproj_norm`: a per-head RMSNorm (eps 1e-5, weight `norm.weight [H·P]`) of the SSM output
   * before the SiLU(z) gate. Default false.
   */
  outprojNorm?: boolean;
  /** Philox seed of every random initialisation, an integer in [0, 2^48]. Default 0. */
  seed?: number;
}

/** The options `Mamba3` knows (checkOptions lists them on a typo). */
export const MAMBA3_CONFIG = [
  'dModel',
  'dState',
  'headDim',
  'expand',
  'rank',
  'ropeFraction',
  'dtMin',
  'dtMax',
  'dtInitFloor',
  'aFloor',
  'chunkSize',
  'ngroups',
  'outprojNorm',
  'seed',
] as const satisfies readonly (keyof Mamba3Config)[];

const CALL_OPTIONS = ['initialState'] as const;

/** A layer's output and the state to pass to the next call. */
export interface Mamba3LayerResult {
  /** `[B, L, D]` (forward) or `[B, D]` (step). */
  output: Tensor;
  /** The state after the last token: pass it back as `initialState`. */
  finalState: Mamba3State;
}

/** mamba_ssm's `heavy_tail_activation`: 1 + x for x ≥ 0, 1/(1 − x) below; positive, smooth at 0. */
function heavyTail(x: Tensor): Tensor {
  return tf.tidy(() => tf.add(tf.relu(x), tf.reciprocal(tf.sub(1, tf.minimum(x, 0)))));
}

/** mamba_ssm's `RMSNormGated(d_inner, group_size=headdim, norm_before_gate=True)`: the weight, named `weight`. */
class HeadwiseNorm extends Module {
  readonly weight: Variable;
  constructor(width: number) {
    super();
    this.weight = this.param('weight', tf.ones([width]));
  }
}

/** Per-head SSM inputs of a sequence, in the op's layout (papers/linear_rnn.md 1.5). */
interface Mixed {
  v: Tensor;
  z: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  lambda: Tensor;
  theta: Tensor;
}

/**
 * The Mamba-3 mixer (Lahoti et al. 2026; mamba_ssm `modules/mamba3.py`, papers/linear_rnn.md 1.2–1.5), a
 * `Module` with `forward(x: [B, L, D], { initialState })` and `step(xt: [B, D], { initialState })`, both
 * returning `{ output, finalState }`.
 * One input projection gives [z, x, B, C, dd_dt, dd_A, trap, angles] (B and C shared across heads,
 * ngroups = 1); B and C get RMSNorm over N plus a per-(head, rank) bias initialised to 1; no conv and no
 * activation on x; Δ = softplus(dd_dt + dt_bias), A = min(−heavyTail(dd_A), −aFloor), λ = σ(trap), the
 * angles shared by all heads; the SSM (`mamba3`) with skip D (init 1); output y·SiLU(z) (per rank with the
 * MIMO up/down projections, then summed over ranks), then the output projection.
 *
 * As mamba3.py, including `ngroups` (B/C shared by groups of heads) and `is_outproj_norm` (a per-head RMSNorm
 * before the gate, per rank with MIMO). The conversion from mamba_ssm's parametrisation happens here, in the
 * layer: the B/C biases are added after their norms, the group repetition and σ(trap) applied, A and Δ computed
 * separately from dd_A and dd_dt; the `mamba3` op takes (x, Δ, A, B, C, λ, θ, D) unchanged.
 * `Mamba3.fromMambaConfig` builds the layer from mamba_ssm's constructor arguments. MIMO here pairs adjacent
 * rotary dims; mamba_ssm's MIMO kernels pair i with i + N/2, so MIMO checkpoints do not load (fromMambaConfig
 * rejects is_mimo). The state's `v` holds the rank-projected x (mamba_ssm's MIMO cache holds x before mimo_x;
 * same for SISO).
 *
 * Parameter names follow mamba_ssm (`in_proj.weight`, `dt_bias`, `B_bias`, `C_bias`, `B_norm.weight`,
 * `C_norm.weight`, `D`, `mimo_x`, `mimo_z`, `mimo_o`, `norm.weight`, `out_proj.weight`): mamba_ssm's state dict loads
 * with `loadStateDict` unchanged.
 */
export class Mamba3 extends Module {
  readonly dModel: number;
  readonly dState: number;
  readonly headDim: number;
  readonly dInner: number;
  readonly heads: number;
  readonly rank: number;
  readonly angles: number;
  readonly aFloor: number;
  readonly chunkSize: number;
  readonly ngroups: number;
  readonly inProj: Linear;
  readonly dtBias: Variable;
  readonly bBias: Variable;
  readonly cBias: Variable;
  readonly bNorm: RMSNorm;
  readonly cNorm: RMSNorm;
  readonly mimoX: Variable | undefined;
  readonly mimoZ: Variable | undefined;
  readonly mimoO: Variable | undefined;
  readonly D: Variable;
  readonly norm: HeadwiseNorm | undefined;
  readonly outProj: Linear;
  /** `[H]` int32: the B/C group each head reads. */
  private readonly groupOfHead: number[];

  /**
   * mamba_ssm's `Mamba3(d_model, ...)` constructor arguments (snake_case, its defaults: d_state 128, headdim 64,
   * expand 2, ngroups 1, rope_fraction 0.5, …) → the layer. Unsupported values (is_mimo true) throw a
   * `TesseraError` naming the key; `extras` holds Tessera's own `chunkSize` and `seed`.
   */
  static fromMambaConfig(config: MambaSsmConfig, extras?: MambaLayerExtras): Mamba3 {
    return new Mamba3(mamba3OptionsFromMamba(config, 'config', extras));
  }

  /**
   * Every option is checked before any weight exists (`new Mamba3({ dtMin: 0 })` throws without leaking
   * a tensor); `config` may be omitted, not null.
   */
  constructor(config?: Mamba3Config) {
    super();
    const c = checkOptions(config, MAMBA3_CONFIG, 'config');
    this.dModel = checkSize(c.dModel ?? 64, 'config.dModel');
    this.dState = checkRange(c.dState ?? 16, { min: 2, integer: true }, 'config.dState');
    this.headDim = checkSize(c.headDim ?? 16, 'config.headDim');
    const expand = checkRange(c.expand ?? 2, { min: 0, minExclusive: true }, 'config.expand');
    this.rank = checkRange(c.rank ?? 1, { min: 1, max: 64, integer: true }, 'config.rank');
    this.aFloor = checkRange(c.aFloor ?? 1e-4, { min: 0 }, 'config.aFloor');
    this.chunkSize = checkChunkSize(c.chunkSize, 'config.chunkSize');
    const seed = checkRange(c.seed ?? 0, { min: 0, max: MAX_SEED, integer: true }, 'config.seed');
    const ropeFraction = c.ropeFraction ?? 0.5;
    if (ropeFraction !== 0.5 && ropeFraction !== 1) {
      throw new ValueError(`config.ropeFraction: expected 0.5 or 1, received ${String(ropeFraction)}`);
    }
    const dtMin = checkRange(c.dtMin ?? 1e-3, { min: 0, minExclusive: true }, 'config.dtMin');
    const dtMax = checkRange(c.dtMax ?? 1e-1, { min: dtMin, hint: 'dtMax must be at least dtMin' }, 'config.dtMax');
    const dtFloor = checkRange(c.dtInitFloor ?? 1e-4, { min: 0 }, 'config.dtInitFloor');
    this.ngroups = checkSize(c.ngroups ?? 1, 'config.ngroups');
    const outprojNorm = checkBoolean(c.outprojNorm, false, 'config.outprojNorm');
    this.dInner = expand * this.dModel;
    if (!Number.isInteger(this.dInner) || this.dInner % this.headDim !== 0) {
      throw new ValueError(`config.headDim: expected a divisor of d_inner = expand·dModel = ${this.dInner}, received ${this.headDim}`);
    }
    this.heads = this.dInner / this.headDim;
    if (this.heads % this.ngroups !== 0) {
      throw new ValueError(`config.ngroups: expected a divisor of the head count ${this.heads}, received ${this.ngroups}`);
    }
    this.groupOfHead = Array.from({ length: this.heads }, (_, i) => Math.floor(i / (this.heads / this.ngroups)));
    // mamba_ssm: split_tensor_size = int(d_state · rope_fraction), made even; one angle per rotated pair
    const rotated = Math.floor(this.dState * ropeFraction);
    this.angles = Math.floor((rotated - (rotated % 2)) / 2);
    if (this.angles < 1) throw new ValueError(`config.dState: expected at least one rotated pair, received dState ${this.dState}`);

    const n = this.dState;
    const r = this.rank;
    const h = this.heads;
    const inWidth = 2 * this.dInner + 2 * n * this.ngroups * r + 3 * h + this.angles;
    for (const [what, shape] of [
      ['in_proj weight', [inWidth, this.dModel]],
      ['out_proj weight', [this.dModel, this.dInner]],
      ['B_bias', [h, r, n]],
      ['the SSM state per sequence [H, P, N]', [h, this.headDim, n]],
    ] as const) {
      checkElements(shape, `config (${what})`);
    }
    this.inProj = this.child('in_proj', new Linear(this.dModel, inWidth, { seed }));
    this.dtBias = this.param('dt_bias', this.initialDtBias(dtMin, dtMax, dtFloor, seed + 1));
    this.bBias = this.param('B_bias', tf.ones([h, r, n]));
    this.cBias = this.param('C_bias', tf.ones([h, r, n]));
    this.bNorm = this.child('B_norm', new RMSNorm(n, { eps: 1e-5 }));
    this.cNorm = this.child('C_norm', new RMSNorm(n, { eps: 1e-5 }));
    if (r > 1) {
      this.mimoX = this.param('mimo_x', tf.fill([h, r, this.headDim], 1 / r));
      this.mimoZ = this.param('mimo_z', tf.ones([h, r, this.headDim]));
      this.mimoO = this.param('mimo_o', tf.fill([h, r, this.headDim], 1 / r));
    }
    this.D = this.param('D', tf.ones([h]));
    if (outprojNorm) this.norm = this.child('norm', new HeadwiseNorm(this.dInner));
    this.outProj = this.child('out_proj', new Linear(this.dInner, this.dModel, { seed: seed + 2 }));
  }

  /** softplus⁻¹ of Δ ~ log-uniform[dtMin, dtMax] floored at dtInitFloor: dt + log(−expm1(−dt)), as mamba_ssm. */
  private initialDtBias(dtMin: number, dtMax: number, floor: number, seed: number): Tensor {
    return tf.tidy(() => {
      const u = philoxUniform([this.heads], { seed });
      const dt = tf.maximum(tf.exp(tf.add(tf.mul(u, Math.log(dtMax) - Math.log(dtMin)), Math.log(dtMin))), floor);
      return tf.add(dt, tf.log(tf.neg(tf.expm1(tf.neg(dt)))));
    });
  }

  /** A zero state for `batch` sequences (what `forward` and `step` start from without one). */
  zeroState(batch: number): Mamba3State {
    return mamba3ZeroState({
      batch: checkSize(batch, 'batch'),
      heads: this.heads,
      rank: this.rank,
      headDim: this.headDim,
      stateDim: this.dState,
      angles: this.angles,
    });
  }

  /** `[B, L, D]` → the SSM inputs, `[B, H, L, ·]` (z stays `[B, L, H, P]`). */
  private mix(u: Tensor): Mixed {
    return tf.tidy(() => {
      const [b, l] = u.shape as [number, number, number];
      const { dInner, dState: n, rank: r, heads: h, headDim: p, ngroups: g } = this;
      const [z, x, bIn, cIn, ddDt, ddA, trap, angles] = tf.split(
        this.inProj.forward(u),
        [dInner, dInner, n * g * r, n * g * r, h, h, h, this.angles],
        2,
      ) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
      const groupOfHead = tf.tensor1d(this.groupOfHead, 'int32');
      const heads = (t: Tensor) => tf.transpose(t, [0, 2, 1]); // [B, L, H] → [B, H, L]
      // B, C: [B, L, (R G N)] → RMSNorm over N → group g repeated over its heads → + bias [H, R, N] →
      // [B, H, L, R·N]. Everything stays at rank ≤ 4: tfjs 4.22's WebGPU backend broadcasts a rank-1 operand
      // into a rank-5 one wrongly.
      const keyLike = (t: Tensor, norm: RMSNorm, bias: Tensor) => {
        const normed = tf.reshape(norm.forward(tf.reshape(t, [b * l * r * g, n])), [b * l, r, g, n]);
        const perHead = g === 1 ? normed : tf.gather(normed, groupOfHead, 2); // [B·L, R, G or H, N]
        const headMajor = tf.reshape(tf.transpose(perHead, [0, 2, 1, 3]), [b, l, g === 1 ? 1 : h, r * n]);
        return tf.transpose(tf.add(headMajor, tf.reshape(bias, [1, 1, h, r * n])), [0, 2, 1, 3]);
      };
      let v = tf.reshape(x, [b * l, h, 1, p]);
      if (this.mimoX) v = tf.mul(v, tf.reshape(this.mimoX, [1, h, r, p]));
      return {
        v: tf.transpose(tf.reshape(v, [b, l, h, r * p]), [0, 2, 1, 3]),
        z: tf.reshape(z, [b, l, h, p]),
        dt: heads(tf.softplus(tf.add(ddDt, this.dtBias))),
        A: heads(tf.minimum(tf.neg(heavyTail(ddA)), -this.aFloor)),
        B: keyLike(bIn, this.bNorm, this.bBias),
        C: keyLike(cIn, this.cNorm, this.cBias),
        lambda: heads(tf.sigmoid(trap)),
        theta: tf.tile(tf.reshape(angles, [b, 1, l, this.angles]), [1, h, 1, 1]),
      };
    });
  }

  /** SSM output `[B, H, L, R·P]` and z `[B, L, H, P]` → gated, rank-contracted, projected `[B, L, D]`. */
  private finish(out: Tensor, z: Tensor): Tensor {
    return tf.tidy(() => {
      const [b, , l] = out.shape as [number, number, number, number];
      const { heads: h, rank: r, headDim: p } = this;
      const o = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b * l, h, r, p]);
      let gate = tf.reshape(z, [b * l, h, 1, p]);
      if (this.mimoZ) gate = tf.mul(gate, tf.reshape(this.mimoZ, [1, h, r, p]));
      // is_outproj_norm: RMSNorm over each head's P values (per rank), weight [H·P], then the gate
      const normed = this.norm
        ? tf.mul(tf.mul(o, tf.rsqrt(tf.add(tf.mean(tf.square(o), -1, true), 1e-5))), tf.reshape(this.norm.weight, [1, h, 1, p]))
        : o;
      let y = tf.mul(normed, tf.mul(gate, tf.sigmoid(gate)));
      if (this.mimoO) y = tf.mul(y, tf.reshape(this.mimoO, [1, h, r, p]));
      return this.outProj.forward(tf.reshape(tf.sum(y, 2), [b, l, h * p]));
    });
  }

  /** The state a call passes, checked against this layer's sizes and x's batch. */
  private checkState(state: Mamba3State | undefined, batch: number, length: number): void {
    if (state === undefined) return;
    const d = { batch, heads: this.heads, length, rank: this.rank, headDim: this.headDim, stateDim: this.dState, angles: this.angles };
    validateState(state, d, 'opts.initialState');
  }

  /**
   * `x: [B, L, D]`, options `{ initialState }` (a state from an earlier call; zeros when absent) →
   * `{ output: [B, L, D], finalState }`. Runs `mamba3` in chunk mode.
   */
  forward(x: Tensor, opts?: LayerCallOptions<Mamba3State>): Mamba3LayerResult {
    const o = checkOptions(opts, CALL_OPTIONS);
    const dims = checkShape(x, ['B', 'L', this.dModel], 'x');
    this.checkState(o.initialState, dims.B as number, dims.L as number);
    const out = tf.tidy(() => {
      const m = this.mix(x);
      const r = mamba3(m.v, m.dt, m.A, m.B, m.C, {
        lambda: m.lambda,
        theta: m.theta,
        D: this.D,
        rank: this.rank,
        chunkSize: this.chunkSize,
        initialState: o.initialState,
      });
      return { output: this.finish(r.output, m.z), ...r.finalState };
    });
    return { output: out.output, finalState: { ssm: out.ssm, k: out.k, v: out.v, angle: out.angle } };
  }

  /**
   * One token: `xt: [B, D]`, options `{ initialState }` (zeros when absent) → `{ output: [B, D], finalState }`;
   * equals `forward` token by token.
   */
  step(xt: Tensor, opts?: LayerCallOptions<Mamba3State>): Mamba3LayerResult {
    const o = checkOptions(opts, CALL_OPTIONS);
    const dims = checkShape(xt, ['B', this.dModel], 'xt');
    this.checkState(o.initialState, dims.B as number, 1);
    const out = tf.tidy(() => {
      const m = this.mix(tf.expandDims(xt, 1));
      const at = (t: Tensor) => tf.squeeze(t, [2]);
      const r = mamba3Step(at(m.v), at(m.dt), at(m.A), at(m.B), at(m.C), {
        lambda: at(m.lambda),
        theta: at(m.theta),
        D: this.D,
        rank: this.rank,
        initialState: o.initialState,
      });
      return { output: tf.squeeze(this.finish(tf.expandDims(r.output, 2), m.z), [1]), ...r.finalState };
    });
    return { output: out.output, finalState: { ssm: out.ssm, k: out.k, v: out.v, angle: out.angle } };
  }
}
