import type { Tensor } from '@tessera/tensor-core';
import { logSpaceRows } from './log-space.js';
import type { BoundBokSettings } from './validate.js';
import { defaultStepSize } from './step-size.js';
import { bokTopROp, fusedTopRApplies } from './op.js';

/**
 * Best-of-K on rows (arXiv 2602.18292, Algorithm 1): `logits: [B, V]` → q `[B, V]`. The default
 * 'uniform-top-r' weights with a step size η ≤ 1/λ take the fused path (`bokTopROp`: four passes, the J
 * steps solved on the r weighted tokens, a kernel on WebGPU); 'prob', user weights and the remaining
 * cases run J log-space mirror steps over the whole row (`logSpaceRows`).
 */
export function bestOfKRows(logits: Tensor, settings: BoundBokSettings): Tensor {
  const { k, lambda, betaBar, steps, temperature, weights, r } = settings;
  if (weights === 'uniform-top-r') {
    const eta = settings.eta ?? (defaultStepSize(lambda, betaBar, k, 1) as number);
    const attrs = { k, lambda, betaBar, eta, steps, temperature, r };
    if (fusedTopRApplies(attrs)) return bokTopROp({ x: logits }, attrs);
  }
  return logSpaceRows(logits, settings);
}
