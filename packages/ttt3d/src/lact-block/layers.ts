import { gelu, LayerNorm, Linear, Module, philoxNormal, RMSNorm, type Tensor, tf, type Variable } from '@tessera/tensor-core';
import { type FastWeights, fastWeightApply, fastWeightUpdate, lactLearningRates } from '../lact/index.js';
import { denseAttention, unitNormalize } from '../nn/index.js';
import type { LaCTOrder } from './types.js';

/** x·σ(x) (torch's F.silu). */
function silu(x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** GPT-2 / tttLRM `_init_weights`: every `nn.Linear` weight ~ N(0, 0.02²), biases 0. */
const LINEAR_STD = 0.02;

/** torch's `nn.RMSNorm(head_dim)` with `eps=None` uses float32's machine epsilon. */
const FLOAT32_EPS = 2 ** -23;

/** A `Linear` initialised as the authors' `_init_weights` does. */
export function linear(inFeatures: number, outFeatures: number, seed: number, bias = false): Linear {
  const l = new Linear(inFeatures, outFeatures, { bias, seed });
  const w = philoxNormal([outFeatures, inFeatures], { seed, std: LINEAR_STD });
  l.weight.assign(w);
  w.dispose();
  return l;
}

/** Children named '0', '1', … as PyTorch's `nn.ModuleList` / `nn.Sequential` number them. */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }
}

/** tttLRM's `SelfAttention` (model/block.py) inside one view: to_qkv, per-head RMSNorm of q and k, SDPA, c_proj. */
export class WindowAttention extends Module {
  readonly to_qkv: Linear;
  readonly c_proj: Linear;
  readonly q_norm: RMSNorm;
  readonly k_norm: RMSNorm;
  constructor(
    readonly width: number,
    readonly headDim: number,
    seed: number,
  ) {
    super();
    this.to_qkv = this.child('to_qkv', linear(width, 3 * width, seed));
    this.c_proj = this.child('c_proj', linear(width, width, seed + 1));
    this.q_norm = this.child('q_norm', new RMSNorm(headDim, { eps: FLOAT32_EPS }));
    this.k_norm = this.child('k_norm', new RMSNorm(headDim, { eps: FLOAT32_EPS }));
  }

  /** `x: [N, T, D]` (N windows of T tokens) → `[N, T, D]`. */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [n, t] = x.shape as [number, number, number];
      const heads = this.width / this.headDim;
      // "b l (qkv nh dh) -> qkv b nh l dh"
      const qkv = tf.transpose(tf.reshape(this.to_qkv.forward(x), [n, t, 3, heads, this.headDim]), [2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(qkv, 0) as [Tensor, Tensor, Tensor];
      const o = denseAttention(this.q_norm.forward(q), this.k_norm.forward(k), v);
      return this.c_proj.forward(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [n, t, this.width]));
    });
  }
}

/** tttLRM's `MLP`: c_fc, exact GELU, c_proj, no biases. */
export class Mlp extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  constructor(width: number, ratio: number, seed: number) {
    super();
    this.c_fc = this.child('c_fc', linear(width, Math.round(width * ratio), seed));
    this.c_proj = this.child('c_proj', linear(Math.round(width * ratio), width, seed + 1));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.c_proj.forward(gelu(this.c_fc.forward(x))));
  }
}

/** Shapes of a LaCT layer's fast weights. */
export interface FastShape {
  heads: number;
  headDim: number;
  hidden: number;
}

/**
 * tttLRM's `FastWeightGluMLPMultihead` (model/lact_ttt.py): SiLU(to_qkv(x)) split "(qkv h d)", q and k divided by
 * ‖·‖ + 1e-5, rates softplus(lr_fc(x) + softplus⁻¹(base_lr)) split "(h lrs)", the SwiGLU fast weight written and read
 * in the given order, RMSNorm over the full width (o_norm, eps 1e-5), c_proj. The learned initial fast weights
 * w0, w1, w2 ([H, Dk, Dh], [H, Dh, Dk], [H, Dk, Dh]) start as randn·√2/√fan_in, as the authors'.
 */
export class LaCTLayer extends Module {
  readonly w0: Variable;
  readonly w1: Variable;
  readonly w2: Variable;
  readonly to_qkv: Linear;
  readonly c_proj: Linear;
  readonly lr_fc: Linear;
  readonly o_norm: RMSNorm;

  constructor(
    readonly width: number,
    readonly shape: FastShape,
    readonly muonSteps: number,
    readonly baseLr: number,
    seed: number,
  ) {
    super();
    const { heads, headDim, hidden } = shape;
    this.w0 = this.param('w0', philoxNormal([heads, headDim, hidden], { seed, std: Math.SQRT2 / Math.sqrt(headDim) }));
    this.w1 = this.param('w1', philoxNormal([heads, hidden, headDim], { seed: seed + 1, std: Math.SQRT2 / Math.sqrt(hidden) }));
    this.w2 = this.param('w2', philoxNormal([heads, headDim, hidden], { seed: seed + 2, std: Math.SQRT2 / Math.sqrt(headDim) }));
    this.to_qkv = this.child('to_qkv', linear(width, 3 * width, seed + 3));
    this.c_proj = this.child('c_proj', linear(width, width, seed + 4));
    this.lr_fc = this.child('lr_fc', linear(width, 3 * heads, seed + 5, true));
    this.o_norm = this.child('o_norm', new RMSNorm(width, { eps: 1e-5 }));
  }

  /** The learned initial fast weights for a batch of B: `[B, H, …]` copies of w0, w1, w2. */
  initialState(batch: number): FastWeights {
    return tf.tidy(() => {
      const tile = (w: Tensor): Tensor => tf.tile(tf.expandDims(w, 0), [batch, 1, 1, 1]);
      return { w0: tile(this.w0), w1: tile(this.w1), w2: tile(this.w2) };
    });
  }

  /**
   * `x: [B, L, D]` (L = V·T tokens, view-major), the first `updateTokens` of which write the fast weights →
   * `{ output [B, L, D], finalState }`. 'apply-then-update' walks chunks of `chunkTokens`.
   */
  forward(
    x: Tensor,
    state: FastWeights | undefined,
    order: LaCTOrder,
    updateTokens: number,
    chunkTokens: number,
  ): { output: Tensor; finalState: FastWeights } {
    return tf.tidy(() => {
      const [b, l] = x.shape as [number, number, number];
      const { heads, headDim } = this.shape;
      // "b l (qkv h d) -> qkv (b h) l d", with (b h) kept as [B, H]
      const qkv = tf.transpose(tf.reshape(silu(this.to_qkv.forward(x)), [b, l, 3, heads, headDim]), [2, 0, 3, 1, 4]);
      const [qRaw, kRaw, v] = tf.unstack(qkv, 0) as [Tensor, Tensor, Tensor];
      const q = unitNormalize(qRaw);
      const k = unitNormalize(kRaw);
      // "b l (h lrs) -> b h l lrs": tttLRM's layout (its one-head configs make it the same as LaCT NVS' (lrs h))
      const lr = lactLearningRates(tf.transpose(tf.reshape(this.lr_fc.forward(x), [b, l, heads, 3]), [0, 2, 1, 3]), {
        baseLr: this.baseLr,
      });
      let w = state ? { w0: tf.clone(state.w0), w1: tf.clone(state.w1), w2: tf.clone(state.w2) } : this.initialState(b);
      const slice = (t: Tensor, start: number, size: number): Tensor =>
        tf.slice(t, [0, 0, start, 0], [b, heads, size, t.shape[3] as number]);
      const update = (start: number, size: number): FastWeights =>
        fastWeightUpdate(w, slice(k, start, size), slice(v, start, size), slice(lr, start, size), { muonSteps: this.muonSteps });
      const outputs: Tensor[] = [];
      if (order === 'update-then-apply') {
        if (updateTokens > 0) w = update(0, updateTokens);
        outputs.push(fastWeightApply(w, q));
      } else {
        for (let start = 0; start < updateTokens; start += chunkTokens) {
          const size = Math.min(chunkTokens, updateTokens - start);
          outputs.push(fastWeightApply(w, slice(q, start, size)));
          w = update(start, size);
        }
        if (updateTokens < l) outputs.push(fastWeightApply(w, slice(q, updateTokens, l - updateTokens)));
      }
      const o = outputs.length === 1 ? (outputs[0] as Tensor) : tf.concat(outputs, 2);
      // "(b h) l d -> b l (h d)"
      const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, l, this.width]);
      return { output: this.c_proj.forward(this.o_norm.forward(merged)), finalState: w };
    });
  }
}

/** One pre-norm residual branch, `{ ln, f }` as the authors' `nn.ModuleDict`. */
export class Sublayer<F extends Module> extends Module {
  readonly ln: LayerNorm;
  readonly f: F;
  constructor(width: number, f: F) {
    super();
    this.ln = this.child('ln', new LayerNorm(width, { bias: false }));
    this.f = this.child('f', f);
  }
}
