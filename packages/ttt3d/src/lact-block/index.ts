import { checkOptions, checkRange, Module, type Tensor, tf, ValueError } from '@tessera/tensor-core';
import { type FastWeights, MAX_MUON_STEPS } from '../lact/index.js';
import { LaCTLayer, Mlp, ModuleList, Sublayer, WindowAttention } from './layers.js';
import type { LaCTBlockForwardOptions, LaCTBlockOptions, LaCTBlockResult } from './types.js';
import { BLOCK_OPTIONS, FORWARD_OPTIONS, MAX_LACT_WIDTH, validateForward } from './validate.js';

export type { LaCTBlockForwardOptions, LaCTBlockOptions, LaCTBlockResult, LaCTOrder } from './types.js';
export { MAX_LACT_WIDTH };

/** Largest `fastHiddenRatio` and `mlpRatio`. */
export const MAX_LACT_RATIO = 16;

/**
 * One LaCT block of tttLRM (papers/ttt3d.md §1.2–1.3; cwchenwang/tttLRM model/block.py `Block` with the
 * `dl3dv_full.yaml` block_config), three pre-norm residual branches, x ← x + f(LayerNorm(x)):
 *
 * 1. `module_list.0`: multi-head self-attention inside each view (the authors' `length_dim: l` window) with
 *    per-head RMSNorm of q and k;
 * 2. `module_list.1`: the LaCT layer over all V·T tokens — SiLU q/k/v projections, L2-normalised q and k, softplus
 *    per-token rates (base 0.01) from a linear lr projection with bias, the SwiGLU fast weight written by
 *    `fastWeightUpdate` (Muon) and read by `fastWeightApply` per head, RMSNorm over the width, output projection;
 * 3. `module_list.2`: a GELU MLP.
 *
 * Parameter paths are the authors' state-dict names (`module_list.1.f.lr_fc.bias`, `module_list.1.f.w0`, …), with
 * PyTorch `[out, in]` weights, so a tttLRM block's state dict loads unchanged when the sizes match.
 */
export class LaCTBlock extends Module {
  readonly width: number;
  readonly heads: number;
  readonly headDim: number;
  readonly hidden: number;
  readonly attentionHeadDim: number;
  readonly module_list: ModuleList<Sublayer<Module>>;
  readonly #attention: Sublayer<WindowAttention>;
  readonly #lact: Sublayer<LaCTLayer>;
  readonly #mlp: Sublayer<Mlp>;

  /**
   * `width` D (divisible by `heads` and `attentionHeadDim`); options `{ heads = 1, attentionHeadDim = min(64, D),
   * fastHiddenRatio = 4, mlpRatio = 4, muonSteps = 5, baseLr = 0.01, seed = 0 }`. Linear weights start as
   * N(0, 0.02²), biases at 0, norms at 1 (the authors' `_init_weights`); the initial fast weights as randn·√2/√fan_in.
   */
  constructor(width: number, opts?: LaCTBlockOptions) {
    super();
    const o = checkOptions(opts, BLOCK_OPTIONS);
    this.width = checkRange(width, { min: 1, max: MAX_LACT_WIDTH, integer: true }, 'width');
    this.heads = checkRange(o.heads ?? 1, { min: 1, max: width, integer: true }, 'opts.heads');
    if (width % this.heads !== 0) throw new ValueError(`opts.heads: expected a divisor of width ${width}, received ${this.heads}`);
    this.attentionHeadDim = checkRange(
      o.attentionHeadDim ?? Math.min(64, width),
      { min: 1, max: width, integer: true },
      'opts.attentionHeadDim',
    );
    if (width % this.attentionHeadDim !== 0) {
      throw new ValueError(`opts.attentionHeadDim: expected a divisor of width ${width}, received ${this.attentionHeadDim}`);
    }
    const ratio = checkRange(o.fastHiddenRatio ?? 4, { min: 0, minExclusive: true, max: MAX_LACT_RATIO }, 'opts.fastHiddenRatio');
    const mlpRatio = checkRange(o.mlpRatio ?? 4, { min: 0, minExclusive: true, max: MAX_LACT_RATIO }, 'opts.mlpRatio');
    const muonSteps = checkRange(o.muonSteps ?? 5, { min: 0, max: MAX_MUON_STEPS, integer: true }, 'opts.muonSteps');
    const baseLr = checkRange(o.baseLr ?? 0.01, { min: 0, minExclusive: true }, 'opts.baseLr');
    const seed = checkRange(o.seed ?? 0, { min: 0, max: 2 ** 40, integer: true }, 'opts.seed');
    this.headDim = width / this.heads;
    this.hidden = Math.max(1, Math.round(this.headDim * ratio));
    if (Math.round(width * mlpRatio) < 1) throw new ValueError(`opts.mlpRatio: expected width · mlpRatio ≥ 1, received ${mlpRatio}`);
    const shape = { heads: this.heads, headDim: this.headDim, hidden: this.hidden };
    // each sublayer draws from its own seed range, so changing one size leaves the others' weights unchanged
    this.#attention = new Sublayer(width, new WindowAttention(width, this.attentionHeadDim, seed * 64 + 1));
    this.#lact = new Sublayer(width, new LaCTLayer(width, shape, muonSteps, baseLr, seed * 64 + 8));
    this.#mlp = new Sublayer(width, new Mlp(width, mlpRatio, seed * 64 + 16));
    this.module_list = this.child('module_list', new ModuleList<Sublayer<Module>>([this.#attention, this.#lact, this.#mlp]));
  }

  /** The learned initial fast weights (the slow weights w0, w1, w2) tiled for a batch of `batch`: the caller owns them. */
  initialState(batch = 1): FastWeights {
    checkRange(batch, { min: 1, integer: true }, 'batch');
    return this.#lact.f.initialState(batch);
  }

  /**
   * `x: [B, V, T, D]` — B sequences of V views of T tokens each → `{ output [B, V, T, D], finalState }`.
   *
   * Order (`opts.order`):
   * - `'update-then-apply'` (default; reconstruction, the authors' `full_ttt_op` with one update chunk): the tokens of
   *   the first `updateViews` views write the fast weights in one chunk, then every token (query-only views included)
   *   reads the written weights.
   * - `'apply-then-update'` (causal / streaming): chunks of `chunkViews` views over the first `updateViews` views, each
   *   read with the weights before it and then written; the remaining views read the final weights. An output never
   *   depends on a later chunk. Each chunk's update rescales columns to the norms of the weights it starts from
   *   (tttLRM's rule across calls; within one call their loop keeps the first chunk's norms — the two differ by a factor
   *   ‖w‖/(‖w‖ + 1e-5) per chunk), so splitting the views over several calls that carry `finalState` into
   *   `initialState` gives the same result as one call.
   *
   * `finalState` holds the fast weights after the last update (a copy of the initial ones when `updateViews` is 0).
   * Differentiable end to end: gradients reach every slow weight through the fast-weight updates.
   */
  forward(x: Tensor, opts?: LaCTBlockForwardOptions): LaCTBlockResult {
    const o = checkOptions(opts, FORWARD_OPTIONS);
    const r = validateForward(x, o, { width: this.width, heads: this.heads, headDim: this.headDim, hidden: this.hidden });
    return tf.tidy(() => {
      const [b, v, t, d] = x.shape as [number, number, number, number];
      const residual = (branch: Sublayer<Module>, h: Tensor, f: (n: Tensor) => Tensor): Tensor => tf.add(h, f(branch.ln.forward(h)));
      let h = residual(this.#attention, tf.reshape(x, [b * v, t, d]), (n) => this.#attention.f.forward(n));
      h = tf.reshape(h, [b, v * t, d]);
      let finalState: FastWeights | undefined;
      h = residual(this.#lact, h, (n) => {
        const out = this.#lact.f.forward(n, r.initialState, r.order, r.updateViews * t, r.chunkViews * t);
        finalState = out.finalState;
        return out.output;
      });
      h = residual(this.#mlp, h, (n) => this.#mlp.f.forward(n));
      return { output: tf.reshape(h, [b, v, t, d]), finalState: finalState as FastWeights };
    });
  }
}
