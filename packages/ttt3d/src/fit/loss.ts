import type { Tensor } from '@tessera/tensor-core';
import type { LossWeights } from './photometric-loss/attrs.js';
import { photometricLossOp } from './photometric-loss/op.js';

export type { LossWeights } from './photometric-loss/attrs.js';
export { trainingSsim } from './photometric-loss/reference.js';

/**
 * The 3DGS photometric loss (Kerbl et al. 2023, Eq. 7): `l1 · mean|render − target| + dssim · (1 − SSIM)`,
 * a differentiable scalar of two images `[h, w, 3]`, with SSIM as 3DGS trains with it (`trainingSsim`: 11×11
 * Gaussian window, σ = 1.5, zero padding). A zero weight drops its term (and its cost). One fused op
 * (photometric-loss/op.ts: a few WGSL programs forward and backward on WebGPU, typed arrays on cpu), the
 * composite on other backends.
 */
export function photometricLoss(render: Tensor, target: Tensor, weights: LossWeights): Tensor {
  return photometricLossOp({ render, target }, weights);
}
