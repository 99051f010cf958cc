/** Weights of the 3DGS photometric loss. */
export interface LossWeights {
  /** Weight of the mean absolute error; default 0.8 (= 1 − λ of 3DGS). */
  l1: number;
  /** Weight of the structural dissimilarity 1 − SSIM; default 0.2 (λ_D-SSIM of 3DGS). */
  dssim: number;
}

export const LOSS_INPUTS = ['render', 'target'] as const;
export type LossInput = (typeof LOSS_INPUTS)[number];

export const LOSS_GRAD_INPUTS = ['render', 'target', 'dy'] as const;
export type LossGradInput = (typeof LOSS_GRAD_INPUTS)[number];
