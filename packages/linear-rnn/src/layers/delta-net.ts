import {
  checkDtype,
  checkOptions,
  checkRange,
  checkShape,
  type Dims,
  describeValue,
  deviceZeros,
  Module,
  type Tensor,
  tf,
  ValueError,
} from '@tessera/tensor-core';
import { checkBoolean, checkChunkSize, checkElements, checkSize, checkTensor } from '../checks.js';
import { deltaRule, deltaRuleStep } from '../delta-rule/index.js';
import { GatedRMSNorm, Linear, RMSNorm } from '@tessera/tensor-core';
import { MAX_SEED, ShortConvolution } from './blocks.js';
import { deltaNetOptionsFromFla, type FlaDeltaNetConfig, type FlaLayerExtras } from '../interop/fla-config.js';

/** Options shared by the delta-rule layers. */
export interface DeltaLayerOptions {
  /** Model width D. Default 64. */
  dModel?: number;
  /** Heads H. Default 2. */
  heads?: number;
  /** Key (and query) dimension per head, Dk. Default 32. */
  headDim?: number;
  /** Value dimension per head as a multiple of `headDim` (fla's expand_v). DeltaNet/EFLA default 1, GatedDeltaNet 2. */
  expandV?: number;
  /** Short convolution width (fla's conv_size). Default 4. */
  convSize?: number;
  /** Output gate: gated RMSNorm with SiLU(W_g x) instead of a plain RMSNorm. Default false (true for GatedDeltaNet). */
  useGate?: boolean;
  /** β = 2σ(W_b x), allowing negative eigenvalues of I − β k kᵀ (fla's allow_neg_eigval). Default false. */
  allowNegEigval?: boolean;
  /** RMSNorm epsilon. Default 1e-5. */
  normEps?: number;
  /** Chunk length of the chunked op in `forward`, 1 … 256. Default 64. */
  chunkSize?: number;
  /** Philox seed of the initialisation, an integer in [0, 2^48]. Default 0. */
  seed?: number;
}

/** GatedDeltaNet's options: the shared ones plus fla's grouped value heads. */
export interface GatedDeltaLayerOptions extends DeltaLayerOptions {
  /**
   * Value heads HV (fla's num_v_heads), a multiple of `heads`: value head j reads query/key head
   * ⌊j / (HV / H)⌋ (fla's GVA). v, β, the decay, the state and the output norm are per value head. Default `heads`.
   */
  numVHeads?: number;
}

/** The options every delta-rule layer knows (checkOptions lists them on a typo). */
export const DELTA_LAYER_OPTIONS = [
  'dModel',
  'heads',
  'headDim',
  'expandV',
  'convSize',
  'useGate',
  'allowNegEigval',
  'normEps',
  'chunkSize',
  'seed',
] as const satisfies readonly (keyof DeltaLayerOptions)[];

/** The options of a layer's `forward` and `step`. */
export interface LayerCallOptions<S> {
  /** The state an earlier call returned as `finalState`; zeros when absent (the start of a sequence). */
  initialState?: S;
}

const CALL_OPTIONS = ['initialState'] as const;

/** A delta-rule layer's decoding state: the three conv caches and the recurrent state (HV = value heads). */
export type DeltaLayerState = {
  /** `[B, convSize − 1, H·Dk]`. */
  convQ: Tensor;
  /** `[B, convSize − 1, H·Dk]`. */
  convK: Tensor;
  /** `[B, convSize − 1, HV·Dv]`. */
  convV: Tensor;
  /** `[B, HV, Dk, Dv]` (fla's fused_recurrent_delta_rule layout; GatedDeltaNet's fla kernel stores `[B, HV, Dv, Dk]`). */
  recurrent: Tensor;
};

/** What `forward` and `step` return. */
export type DeltaLayerResult = {
  /** `[B, L, D]` (forward) or `[B, D]` (step). */
  output: Tensor;
  /** The state after the last token: pass it back as `initialState`. */
  finalState: DeltaLayerState;
};

const GATED_LAYER_OPTIONS = [...DELTA_LAYER_OPTIONS, 'numVHeads'] as const satisfies readonly (keyof GatedDeltaLayerOptions)[];

/**
 * The per-head tensors a layer hands to its rule: q, k `[B, HV, L, Dk]` (key heads repeated over their value
 * heads), v `[B, HV, L, Dv]`, beta `[B, HV, L]`; `x` is the layer input `[B, L, D]`.
 */
export interface RuleInputs {
  x: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  beta: Tensor;
}

/** fla's l2norm over the last axis: x / √(Σx² + 1e-6). `x: [..., D]` (rank ≥ 1, float32). */
export function l2Normalize(x: Tensor): Tensor {
  checkTensor(x, 'x', { minRank: 1 });
  checkDtype(x, 'float32', 'x');
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-6))));
}

/** `[B, L, H·D] → [B, H, L, D]`. */
function toHeads(x: Tensor, heads: number): Tensor {
  const [b, l, hd] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [b, l, heads, hd / heads]), [0, 2, 1, 3]);
}

/** `[B, L, H] → [B, H, L]`. */
function perHead(x: Tensor): Tensor {
  return tf.transpose(x, [0, 2, 1]);
}

/**
 * The body of fla's DeltaNet-family layers (papers/linear_rnn.md §3.5): q, k, v = SiLU(ShortConv(W x)),
 * q (and, unless the rule says otherwise, k) L2-normalised per head, β = σ(W_b x), a delta-rule
 * recurrence, a per-head (gated) RMSNorm and the output projection. Subclasses supply the recurrence.
 * Parameter names follow fla (`q_proj`, `q_conv1d`, `o_norm`, …) so checkpoints map one to one.
 */
export abstract class DeltaRuleLayer extends Module {
  readonly dModel: number;
  readonly heads: number;
  /** Value heads HV (fla's num_v_heads); equals `heads` except in a GatedDeltaNet with grouped value heads. */
  readonly valueHeads: number;
  readonly headDim: number;
  readonly valueDim: number;
  readonly convSize: number;
  readonly chunkSize: number;
  readonly allowNegEigval: boolean;
  protected readonly qProj: Linear;
  protected readonly kProj: Linear;
  protected readonly vProj: Linear;
  protected readonly bProj: Linear;
  protected readonly qConv: ShortConvolution;
  protected readonly kConv: ShortConvolution;
  protected readonly vConv: ShortConvolution;
  protected readonly gProj: Linear | undefined;
  protected readonly oNorm: RMSNorm | GatedRMSNorm;
  protected readonly oProj: Linear;
  protected readonly seed: number;

  /**
   * Every option is checked before any weight exists, so a bad one throws without leaking a tensor.
   * `defaults` are the subclass's (fla's) expand_v and use_gate.
   */
  constructor(opts: GatedDeltaLayerOptions | undefined, defaults: { expandV: number; useGate: boolean; groupedValueHeads?: boolean }) {
    super();
    const o = checkOptions(opts, defaults.groupedValueHeads ? GATED_LAYER_OPTIONS : DELTA_LAYER_OPTIONS);
    this.dModel = checkSize(o.dModel ?? 64, 'opts.dModel');
    this.heads = checkSize(o.heads ?? 2, 'opts.heads');
    this.valueHeads = checkSize(o.numVHeads ?? this.heads, 'opts.numVHeads');
    if (this.valueHeads % this.heads !== 0) {
      throw new ValueError(`opts.numVHeads: expected a multiple of heads (${this.heads}), received ${this.valueHeads}`);
    }
    this.headDim = checkSize(o.headDim ?? 32, 'opts.headDim');
    const expandV = checkRange(o.expandV ?? defaults.expandV, { min: 0, minExclusive: true }, 'opts.expandV');
    // fla: int(head_dim · expand_v), accepted when within rel. 1e-5 of an integer (math.isclose)
    const exactValueDim = this.headDim * expandV;
    this.valueDim = Math.round(exactValueDim);
    if (this.valueDim < 1 || Math.abs(exactValueDim - this.valueDim) > 1e-5 * Math.abs(exactValueDim)) {
      throw new ValueError(`opts.expandV: expected headDim · expandV to be an integer, received ${this.headDim} · ${expandV}`);
    }
    this.convSize = checkRange(o.convSize ?? 4, { min: 1, max: 64, integer: true }, 'opts.convSize');
    this.chunkSize = checkChunkSize(o.chunkSize, 'opts.chunkSize');
    this.seed = checkRange(o.seed ?? 0, { min: 0, max: MAX_SEED, integer: true }, 'opts.seed');
    this.allowNegEigval = checkBoolean(o.allowNegEigval, false, 'opts.allowNegEigval');
    const useGate = checkBoolean(o.useGate, defaults.useGate, 'opts.useGate');
    const eps = checkRange(o.normEps ?? 1e-5, { min: 0, minExclusive: true }, 'opts.normEps');
    const keyWidth = this.heads * this.headDim;
    const valueWidth = this.valueHeads * this.valueDim;
    for (const [what, shape] of [
      ['q_proj/k_proj weight [H·Dk, dModel]', [keyWidth, this.dModel]],
      ['v_proj/g_proj weight [HV·Dv, dModel]', [valueWidth, this.dModel]],
      ['the recurrent state per sequence [HV, Dk, Dv]', [this.valueHeads, this.headDim, this.valueDim]],
    ] as const) {
      checkElements(shape, `opts (${what})`);
    }
    // distinct Philox seeds per weight; 16 apart leaves room for subclass parameters
    const s = this.seed * 16;
    this.qProj = this.child('q_proj', new Linear(this.dModel, keyWidth, { seed: s }));
    this.kProj = this.child('k_proj', new Linear(this.dModel, keyWidth, { seed: s + 1 }));
    this.vProj = this.child('v_proj', new Linear(this.dModel, valueWidth, { seed: s + 2 }));
    this.bProj = this.child('b_proj', new Linear(this.dModel, this.valueHeads, { seed: s + 3 }));
    this.qConv = this.child('q_conv1d', new ShortConvolution(keyWidth, { kernelSize: this.convSize, seed: s + 4 }));
    this.kConv = this.child('k_conv1d', new ShortConvolution(keyWidth, { kernelSize: this.convSize, seed: s + 5 }));
    this.vConv = this.child('v_conv1d', new ShortConvolution(valueWidth, { kernelSize: this.convSize, seed: s + 6 }));
    this.gProj = useGate ? this.child('g_proj', new Linear(this.dModel, valueWidth, { seed: s + 7 })) : undefined;
    this.oNorm = this.child('o_norm', useGate ? new GatedRMSNorm(this.valueDim, { eps }) : new RMSNorm(this.valueDim, { eps }));
    this.oProj = this.child('o_proj', new Linear(valueWidth, this.dModel, { seed: s + 8 }));
  }

  /** Keys as the rule takes them: L2-normalised (DeltaNet, GatedDeltaNet) or raw (EFLA). */
  protected transformKeys(k: Tensor): Tensor {
    return l2Normalize(k);
  }

  /** The recurrence over a sequence: `{ output: [B, H, L, Dv], finalState: [B, H, Dk, Dv] }`. */
  protected abstract sequence(t: RuleInputs, initialState: Tensor | undefined): { output: Tensor; finalState: Tensor };

  /** One token (q, k, v `[B, H, D]`, beta `[B, H]`, x `[B, D]`): `{ output: [B, H, Dv], finalState }`. */
  protected abstract token(t: RuleInputs, initialState: Tensor | undefined): { output: Tensor; finalState: Tensor };

  /** A zero decoding state for `batch` sequences (what `forward` and `step` start from without one). */
  zeroState(batch: number): DeltaLayerState {
    checkSize(batch, 'batch');
    // every part is checked before the first is allocated
    checkElements([batch, this.valueHeads, this.headDim, this.valueDim], 'batch (the recurrent state [batch, HV, Dk, Dv])');
    checkElements(
      [batch, this.convSize - 1, Math.max(this.heads * this.headDim, this.valueHeads * this.valueDim)],
      'batch (the conv states [batch, K − 1, H·D])',
    );
    return {
      convQ: this.qConv.zeroState(batch),
      convK: this.kConv.zeroState(batch),
      convV: this.vConv.zeroState(batch),
      recurrent: deviceZeros([batch, this.valueHeads, this.headDim, this.valueDim]),
    };
  }

  /**
   * `x: [B, L, D]`, options `{ initialState }` (a state from an earlier call; zeros when absent) →
   * `{ output: [B, L, D], finalState }`.
   */
  forward(x: Tensor, opts?: LayerCallOptions<DeltaLayerState>): DeltaLayerResult {
    const o = checkOptions(opts, CALL_OPTIONS);
    const dims = checkShape(x, ['B', 'L', this.dModel], 'x');
    if (o.initialState !== undefined) this.checkState(o.initialState, dims);
    return tf.tidy(() => this.run(x, o.initialState, false));
  }

  /**
   * One token `xt: [B, D]`, options `{ initialState }` (zeros when absent) → `{ output: [B, D], finalState }`;
   * stepping through a sequence reproduces `forward`.
   */
  step(xt: Tensor, opts?: LayerCallOptions<DeltaLayerState>): DeltaLayerResult {
    const o = checkOptions(opts, CALL_OPTIONS);
    const dims = checkShape(xt, ['B', this.dModel], 'xt');
    if (o.initialState !== undefined) this.checkState(o.initialState, dims);
    return tf.tidy(() => {
      const out = this.run(tf.expandDims(xt, 1), o.initialState, true);
      return { output: tf.squeeze(out.output, [1]), finalState: out.finalState };
    });
  }

  private checkState(state: DeltaLayerState, dims: Dims): void {
    const name = 'opts.initialState';
    if (state === null || typeof state !== 'object' || Array.isArray((state as { shape?: unknown }).shape)) {
      throw new ValueError(`${name}: expected { convQ, convK, convV, recurrent }, received ${describeValue(state)}`);
    }
    const keyWidth = this.heads * this.headDim;
    checkShape(state.convQ, ['B', this.convSize - 1, keyWidth], `${name}.convQ`, dims);
    checkShape(state.convK, ['B', this.convSize - 1, keyWidth], `${name}.convK`, dims);
    checkShape(state.convV, ['B', this.convSize - 1, this.valueHeads * this.valueDim], `${name}.convV`, dims);
    checkShape(state.recurrent, ['B', this.valueHeads, this.headDim, this.valueDim], `${name}.recurrent`, dims);
  }

  /** `[B, H, L, Dk] → [B, HV, L, Dk]`: key head i serves value heads i·G … i·G + G − 1 (fla's `i_h = i_hv // (HV / H)`). */
  private toValueHeads(t: Tensor): Tensor {
    const group = this.valueHeads / this.heads;
    if (group === 1) return t;
    // gather, not tile: tfjs-webgpu's Tile of rank 5 reads back to the CPU
    const index = Array.from({ length: this.valueHeads }, (_, j) => Math.floor(j / group));
    return tf.tidy(() => tf.gather(t, tf.tensor1d(index, 'int32'), 1));
  }

  private run(x: Tensor, state: DeltaLayerState | undefined, decode: boolean): DeltaLayerResult {
    const [batch, length] = x.shape as [number, number, number];
    const q = this.qConv.forward(this.qProj.forward(x), { initialState: state?.convQ });
    const k = this.kConv.forward(this.kProj.forward(x), { initialState: state?.convK });
    const v = this.vConv.forward(this.vProj.forward(x), { initialState: state?.convV });
    let beta = tf.sigmoid(this.bProj.forward(x));
    if (this.allowNegEigval) beta = tf.mul(beta, 2);
    const inputs: RuleInputs = {
      x,
      q: this.toValueHeads(l2Normalize(toHeads(q.output, this.heads))),
      k: this.toValueHeads(this.transformKeys(toHeads(k.output, this.heads))),
      v: toHeads(v.output, this.valueHeads),
      beta: perHead(beta),
    };
    let output: Tensor;
    let recurrent: Tensor;
    if (decode) {
      const squeezed: RuleInputs = {
        x: tf.squeeze(x, [1]),
        q: tf.squeeze(inputs.q, [2]),
        k: tf.squeeze(inputs.k, [2]),
        v: tf.squeeze(inputs.v, [2]),
        beta: tf.squeeze(inputs.beta, [2]),
      };
      const r = this.token(squeezed, state?.recurrent);
      output = tf.expandDims(r.output, 2);
      recurrent = r.finalState;
    } else {
      const r = this.sequence(inputs, state?.recurrent);
      output = r.output;
      recurrent = r.finalState;
    }
    // per-head norm over Dv: [B, H, L, Dv] → [B, L, H, Dv]
    const o = tf.transpose(output, [0, 2, 1, 3]);
    const normed =
      this.gProj === undefined
        ? (this.oNorm as RMSNorm).forward(o)
        : (this.oNorm as GatedRMSNorm).forward(o, tf.reshape(this.gProj.forward(x), [batch, length, this.valueHeads, this.valueDim]));
    const y = this.oProj.forward(tf.reshape(normed, [batch, length, this.valueHeads * this.valueDim]));
    return { output: y, finalState: { convQ: q.finalState, convK: k.finalState, convV: v.finalState, recurrent } };
  }
}

/**
 * DeltaNet (Yang et al. 2024, "Parallelizing Linear Transformers with the Delta Rule over Sequence
 * Length"), as fla's `DeltaNet` layer with use_short_conv (SiLU), qk_norm 'l2' and β = σ(W_b x):
 * S_t = S_{t−1} + k_t (β_t (v_t − S_{t−1}ᵀ k_t))ᵀ, o_t = S_tᵀ q_t / √Dk, y = W_o RMSNorm(o).
 * `forward(x: [B, L, D], { initialState })`, `step(xt: [B, D], { initialState })` → `{ output, finalState }`.
 */
export class DeltaNet extends DeltaRuleLayer {
  constructor(opts?: DeltaLayerOptions) {
    super(opts, { expandV: 1, useGate: false });
  }

  /**
   * A layer built from fla's `DeltaNet(...)` constructor arguments, with fla's defaults (hidden_size 1024,
   * num_heads 4, expand_k 1, expand_v 1, conv_size 4, norm_eps 1e-5; head dims hidden·expand / heads): its
   * `stateDict()` names and shapes equal fla's `state_dict()`. `extras` are Tessera's own `{ chunkSize, seed }`.
   * Options this build lacks (qk_activation ≠ silu, qk_norm ≠ l2, use_beta false, no short conv, conv bias) throw.
   */
  static fromFlaConfig(config: FlaDeltaNetConfig, extras?: FlaLayerExtras): DeltaNet {
    return new DeltaNet(deltaNetOptionsFromFla(config, extras));
  }

  protected sequence(t: RuleInputs, initialState: Tensor | undefined): { output: Tensor; finalState: Tensor } {
    return deltaRule(t.q, t.k, t.v, t.beta, { chunkSize: this.chunkSize, initialState });
  }

  protected token(t: RuleInputs, initialState: Tensor | undefined): { output: Tensor; finalState: Tensor } {
    return deltaRuleStep(t.q, t.k, t.v, t.beta, { initialState });
  }
}
