import {
  checkDtype,
  checkOptions,
  checkRange,
  checkShape,
  describeValue,
  deviceZeros,
  Linear,
  Module,
  type Tensor,
  tf,
  ValueError,
} from '@tessera/tensor-core';
import { attention } from '../attention/index.js';
import { checkFraction } from '../masks/validate.js';
import { checkBlock } from '../block-mask/index.js';
import { spargeAttention } from '../sparge-attention/index.js';

export type AttentionMode = 'dense' | 'sparse';

export interface SparseAttentionLayerOptions {
  /** Model width. Default 64. */
  dModel?: number;
  /** Heads H. Default 4. */
  heads?: number;
  /** Dimension per head D. Default dModel / heads. */
  headDim?: number;
  /** 'dense' (flash attention) or 'sparse' (SpargeAttention2's hybrid mask). Default 'sparse'. */
  mode?: AttentionMode;
  /** Causal attention. Default false. */
  causal?: boolean;
  /** Tokens per query block of the mask. Default 128. */
  bq?: number;
  /** Tokens per key block. Default 64. */
  bk?: number;
  /** Top-k ratio of the hybrid mask. Default 0.03. */
  topK?: number;
  /** Top-p mass of the hybrid mask. Default 0.2. */
  topP?: number;
  /** Philox seed of the initialisation, a non-negative safe integer. Default 0. */
  seed?: number;
}

export type SparseAttentionOutput = {
  /** `[B, L, dModel]`. */
  output: Tensor;
  /** Scalar float32: the mask's sparsity (0 in dense mode). */
  sparsity: Tensor;
};

/** Upper bound of `dModel`, `heads · headDim`: keeps each projection weight within a few hundred MB. */
const MAX_WIDTH = 16384;

function checkMode(mode: unknown): AttentionMode {
  if (mode !== 'dense' && mode !== 'sparse') throw new ValueError(`mode: expected 'dense' or 'sparse', received ${describeValue(mode)}`);
  return mode;
}

/**
 * Multi-head self-attention with a dense/sparse switch (SpargeAttention2's student and teacher share the
 * weights and differ in `mode`): q, k, v = x W_{q,k,v}ᵀ split into heads `[B, H, L, D]`, attention
 * (`attention` in 'dense' mode, `spargeAttention` in 'sparse' mode), heads merged, then W_o. Parameters
 * `q_proj.weight`, `k_proj.weight`, `v_proj.weight` `[H·D, dModel]` and `o_proj.weight` `[dModel, H·D]`,
 * PyTorch's `[out, in]`. `mode` can be switched at any time.
 */
export class SparseAttention extends Module {
  readonly dModel: number;
  readonly heads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly bq: number;
  readonly bk: number;
  readonly topK: number;
  readonly topP: number;
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly oProj: Linear;
  #mode: AttentionMode;

  constructor(opts?: SparseAttentionLayerOptions) {
    super();
    const o = checkOptions(opts, ['dModel', 'heads', 'headDim', 'mode', 'causal', 'bq', 'bk', 'topK', 'topP', 'seed']);
    this.dModel = checkRange(o.dModel ?? 64, { min: 1, max: MAX_WIDTH, integer: true }, 'opts.dModel');
    this.heads = checkRange(o.heads ?? 4, { min: 1, max: MAX_WIDTH, integer: true }, 'opts.heads');
    const defaultHead = this.dModel / this.heads;
    if (o.headDim === undefined && !Number.isInteger(defaultHead)) {
      throw new ValueError(`opts.heads: expected a divisor of dModel = ${this.dModel} when headDim is not given, received ${this.heads}`);
    }
    this.headDim = checkRange(o.headDim ?? defaultHead, { min: 1, max: MAX_WIDTH, integer: true }, 'opts.headDim');
    if (this.heads * this.headDim > MAX_WIDTH) {
      throw new ValueError(`opts.heads · opts.headDim: expected at most ${MAX_WIDTH}, received ${this.heads} · ${this.headDim}`);
    }
    this.#mode = checkMode(o.mode ?? 'sparse');
    if (o.causal !== undefined && typeof o.causal !== 'boolean') {
      throw new ValueError(`opts.causal: expected a boolean, received ${describeValue(o.causal)}`);
    }
    this.causal = o.causal ?? false;
    this.bq = checkBlock(o.bq ?? 128, 'opts.bq');
    this.bk = checkBlock(o.bk ?? 64, 'opts.bk');
    this.topK = checkFraction(o.topK ?? 0.03, 'opts.topK');
    this.topP = checkFraction(o.topP ?? 0.2, 'opts.topP');
    const seed = checkRange(o.seed ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER - 4, integer: true }, 'opts.seed');
    const inner = this.heads * this.headDim;
    this.qProj = this.child('q_proj', new Linear(this.dModel, inner, { seed }));
    this.kProj = this.child('k_proj', new Linear(this.dModel, inner, { seed: seed + 1 }));
    this.vProj = this.child('v_proj', new Linear(this.dModel, inner, { seed: seed + 2 }));
    this.oProj = this.child('o_proj', new Linear(inner, this.dModel, { seed: seed + 3 }));
  }

  /** 'dense' or 'sparse'. */
  get mode(): AttentionMode {
    return this.#mode;
  }

  set mode(mode: AttentionMode) {
    this.#mode = checkMode(mode);
  }

  /** `x [B, L, dModel]` → `{ output [B, L, dModel], sparsity }`. */
  forward(x: Tensor): SparseAttentionOutput {
    checkShape(x, [null, null, this.dModel], 'x');
    checkDtype(x, 'float32', 'x');
    const [b, l] = x.shape as [number, number, number];
    const heads = (t: Tensor) => tf.transpose(tf.reshape(t, [b, l, this.heads, this.headDim]), [0, 2, 1, 3]);
    const parts = tf.tidy(() => {
      const q = heads(this.qProj.forward(x));
      const k = heads(this.kProj.forward(x));
      const v = heads(this.vProj.forward(x));
      let o: Tensor;
      let sparsity: Tensor;
      if (this.#mode === 'dense') {
        o = attention(q, k, v, { causal: this.causal });
        sparsity = deviceZeros([]);
      } else {
        const r = spargeAttention(q, k, v, { causal: this.causal, bq: this.bq, bk: this.bk, topK: this.topK, topP: this.topP });
        o = r.output;
        sparsity = r.sparsity;
      }
      const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, l, this.heads * this.headDim]);
      return { output: this.oProj.forward(merged), sparsity };
    });
    return parts;
  }
}
