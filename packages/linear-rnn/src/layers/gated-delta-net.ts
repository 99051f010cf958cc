import { philoxUniform, type Tensor, tf, type Variable } from '@tessera/tensor-core';
import { gatedDeltaRule, gatedDeltaRuleStep } from '../gated-delta-rule/index.js';
import { Linear } from '@tessera/tensor-core';
import { DeltaRuleLayer, type GatedDeltaLayerOptions, type RuleInputs } from './delta-net.js';
import { type FlaGatedDeltaNetConfig, gatedDeltaNetOptionsFromFla, type FlaLayerExtras } from '../interop/fla-config.js';

/** fla's Mamba-2 style Δ range for dt_bias: Δ ~ log-uniform [1e-3, 1e-1], floored at 1e-4. */
const DT_MIN = 1e-3;
const DT_MAX = 1e-1;
const DT_FLOOR = 1e-4;
/** fla draws A ~ U(0, 16); the floor keeps log A finite for a draw of exactly 0. */
const A_MAX = 16;
const A_FLOOR = 1e-4;

/**
 * Gated DeltaNet (Yang, Kautz & Hatamizadeh 2025), as fla's `GatedDeltaNet` layer: q, k, v through
 * SiLU short convolutions, L2-normalised q/k, β = σ(W_b x), log-decay g = −exp(A_log) · softplus(W_a x + dt_bias),
 * S_t = e^{g_t}(I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ, output RMSNorm(o) · w · SiLU(W_g x) per head, then W_o.
 * Defaults: value heads twice the key dimension (expand_v 2) and the output gate on, as fla. `numVHeads` > `heads`
 * groups value heads over key heads (fla's GVA). `GatedDeltaNet.fromFlaConfig` takes fla's constructor arguments.
 */
export class GatedDeltaNet extends DeltaRuleLayer {
  protected readonly aProj: Linear;
  readonly A_log: Variable;
  readonly dt_bias: Variable;

  constructor(opts?: GatedDeltaLayerOptions) {
    super(opts, { expandV: 2, useGate: true, groupedValueHeads: true });
    const s = this.seed * 16;
    this.aProj = this.child('a_proj', new Linear(this.dModel, this.valueHeads, { seed: s + 9 }));
    const aInit = tf.tidy(() => tf.log(tf.maximum(philoxUniform([this.valueHeads], { seed: s + 10, high: A_MAX }), A_FLOOR)));
    this.A_log = this.param('A_log', aInit);
    const dtInit = tf.tidy(() => {
      const u = philoxUniform([this.valueHeads], { seed: s + 11 });
      const dt = tf.maximum(tf.exp(tf.add(tf.mul(u, Math.log(DT_MAX) - Math.log(DT_MIN)), Math.log(DT_MIN))), DT_FLOOR);
      // softplus⁻¹(dt) = dt + log(1 − e^{−dt}), so that softplus(dt_bias) = Δ at a = 0
      return tf.add(dt, tf.log(tf.neg(tf.sub(tf.exp(tf.neg(dt)), 1))));
    });
    this.dt_bias = this.param('dt_bias', dtInit);
  }

  /**
   * A layer built from fla's `GatedDeltaNet(...)` constructor arguments, with fla's defaults (hidden_size 2048,
   * head_dim 256, num_heads 6, expand_v 2, use_gate, conv_size 4, norm_eps 1e-5): its `stateDict()` names and
   * shapes equal fla's `state_dict()`, so `layer.loadStateDict(readSafetensors(bytes))` loads fla's weights.
   * `extras` are Tessera's own `{ chunkSize, seed }`. Unsupported values (use_short_conv false, conv_bias) throw.
   */
  static fromFlaConfig(config: FlaGatedDeltaNetConfig, extras?: FlaLayerExtras): GatedDeltaNet {
    return new GatedDeltaNet(gatedDeltaNetOptionsFromFla(config, extras));
  }

  /** g = −exp(A_log) · softplus(W_a x + dt_bias): `[B, (L,) D] → [B, H, (L)]`. */
  private logDecay(x: Tensor): Tensor {
    return tf.tidy(() => {
      const g = tf.mul(tf.neg(tf.exp(this.A_log)), tf.softplus(tf.add(this.aProj.forward(x), this.dt_bias)));
      return g.rank === 3 ? tf.transpose(g, [0, 2, 1]) : g;
    });
  }

  protected sequence(t: RuleInputs, initialState: Tensor | undefined): { output: Tensor; finalState: Tensor } {
    return gatedDeltaRule(t.q, t.k, t.v, t.beta, this.logDecay(t.x), { chunkSize: this.chunkSize, initialState });
  }

  protected token(t: RuleInputs, initialState: Tensor | undefined): { output: Tensor; finalState: Tensor } {
    return gatedDeltaRuleStep(t.q, t.k, t.v, t.beta, this.logDecay(t.x), { initialState });
  }
}
