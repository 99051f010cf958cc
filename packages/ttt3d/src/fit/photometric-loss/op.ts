import { defineOp, tf, vjp } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { LOSS_GRAD_INPUTS, LOSS_INPUTS, type LossGradInput, type LossInput, type LossWeights } from './attrs.js';
import { photometricLossGradHost, photometricLossHost } from './host.js';
import { photometricLossGradWebGPU, photometricLossWebGPU } from './kernel.js';
import { photometricLossReference } from './reference.js';

/**
 * dL/drender of the photometric loss times the scalar cotangent `dy`, `[h, w, 3]`. Its reference is tfjs
 * autodiff of the composite (reference.ts): the oracle of the host and WGSL kernels.
 */
export const photometricLossGradOp = defineOp<LossGradInput, LossWeights>({
  kernelName: 'TesseraFitPhotometricLossGrad',
  inputs: LOSS_GRAD_INPUTS,
  reference: ({ render, target, dy }, weights) =>
    tf.tidy(() => vjp((r) => photometricLossReference({ render: r, target }, weights), [render], dy)[0] as Tensor),
  host: photometricLossGradHost,
  webgpu: photometricLossGradWebGPU,
});

/**
 * The 3DGS photometric loss of `render` against `target` (both `[h, w, 3]`) as one op: a scalar, with the fused
 * backward above as its gradient w.r.t. the render. The gradient w.r.t. the target (a fit never asks for it)
 * goes through autodiff of the composite.
 */
export const photometricLossOp = defineOp<LossInput, LossWeights>({
  kernelName: 'TesseraFitPhotometricLoss',
  inputs: LOSS_INPUTS,
  reference: (inputs, weights) => photometricLossReference(inputs, weights),
  host: photometricLossHost,
  webgpu: photometricLossWebGPU,
  gradient: {
    inputsToSave: LOSS_INPUTS,
    grad: (dy, saved, weights) => {
      const [render, target] = saved as [Tensor, Tensor];
      return {
        render: () => photometricLossGradOp({ render, target, dy }, weights),
        target: () => vjp((t) => photometricLossReference({ render, target: t }, weights), [target], dy)[0] as Tensor,
      };
    },
  },
});
