import type { Tensor } from '@tessera/tensor-core';
import { efla, eflaStep } from '../efla/index.js';
import { DeltaRuleLayer, type DeltaLayerOptions, type RuleInputs } from './delta-net.js';

/**
 * EFLA layer (Lei, Zhang & Poria 2025): DeltaNet's body with raw (un-normalised) keys — their norm sets
 * the step — and the exact step α_t = (1 − e^{−β_t‖k_t‖²}) / ‖k_t‖² in place of β_t; queries stay
 * L2-normalised (papers/linear_rnn.md §2.3). `forward(x: [B, L, D], { initialState })`, `step(xt: [B, D], { initialState })`.
 */
export class EFLA extends DeltaRuleLayer {
  constructor(opts?: DeltaLayerOptions) {
    super(opts, { expandV: 1, useGate: false });
  }

  protected override transformKeys(k: Tensor): Tensor {
    return k;
  }

  protected sequence(t: RuleInputs, initialState: Tensor | undefined): { output: Tensor; finalState: Tensor } {
    return efla(t.q, t.k, t.v, t.beta, { chunkSize: this.chunkSize, initialState });
  }

  protected token(t: RuleInputs, initialState: Tensor | undefined): { output: Tensor; finalState: Tensor } {
    return eflaStep(t.q, t.k, t.v, t.beta, { initialState });
  }
}
