import { defineOp, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { BACKWARD_INPUTS, type BackwardInput, rasterizeBackwardWebGPU } from './backward-kernel.js';
import { GAUSSIAN_INPUTS, type GaussianInput, rasterizeWebGPU } from './forward-kernel.js';
import { GRAD_HEAD } from './gaussian-backward.program.js';
import type { RasterAttrs } from './raster-attrs.js';
import { rasterizePackedReference } from './reference.js';

/**
 * The backward op: vector–Jacobian product of the packed forward, all five gradients in one `[N, 11 + 3K]`
 * tensor (means, logScales, quaternions, opacity logit, SH). Its reference differentiates the dense
 * reference by autodiff — the oracle the WGSL backward is tested against.
 */
export const rasterizeBackwardOp = defineOp<BackwardInput, RasterAttrs>({
  kernelName: 'TesseraRasterizeGaussiansGrad',
  inputs: BACKWARD_INPUTS,
  reference: ({ means, logScales, quaternions, opacityLogits, sh, dy }, attrs) =>
    tf.tidy(() => {
      const n = means.shape[0] as number;
      const vjp = tf.grads((m: Tensor, l: Tensor, q: Tensor, o: Tensor, s: Tensor) =>
        tf.sum(tf.mul(rasterizePackedReference({ means: m, logScales: l, quaternions: q, opacityLogits: o, sh: s }, attrs), dy)),
      );
      const [dm, dl, dq, dop, dsh] = vjp([means, logScales, quaternions, opacityLogits, sh]) as [Tensor, Tensor, Tensor, Tensor, Tensor];
      return tf.concat([dm, dl, dq, tf.reshape(dop, [n, 1]), tf.reshape(dsh, [n, -1])], 1);
    }),
  webgpu: rasterizeBackwardWebGPU,
});

/** Splits the backward op's packed gradient into the five inputs' gradients. */
function unpackGradients(packed: Tensor, sh: Tensor): Record<GaussianInput, () => Tensor> {
  const n = packed.shape[0] as number;
  const columns = (start: number, count: number): Tensor => tf.slice(packed, [0, start], [n, count]);
  return {
    means: () => columns(0, 3),
    logScales: () => columns(3, 3),
    quaternions: () => columns(6, 4),
    opacityLogits: () => tf.reshape(columns(10, 1), [n]),
    sh: () => tf.reshape(columns(GRAD_HEAD, (packed.shape[1] as number) - GRAD_HEAD), sh.shape),
  };
}

/**
 * The rasteriser op: Gaussian tensors → `[h, w, 5]` (premultiplied colour, expected depth, transmittance).
 * WebGPU runs the tiled WGSL kernels, with the WGSL backward registered as its gradient; other backends run
 * the dense reference, which autodiff differentiates.
 */
export const rasterizeOp = defineOp<GaussianInput, RasterAttrs>({
  kernelName: 'TesseraRasterizeGaussians',
  inputs: GAUSSIAN_INPUTS,
  reference: (inputs, attrs) => rasterizePackedReference(inputs, attrs),
  webgpu: rasterizeWebGPU,
  gradient: {
    inputsToSave: GAUSSIAN_INPUTS,
    saveOutput: true,
    grad: (dy, saved, attrs) => {
      const [means, logScales, quaternions, opacityLogits, sh, rendered] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
      const packed = rasterizeBackwardOp({ means, logScales, quaternions, opacityLogits, sh, rendered, dy }, attrs);
      return unpackGradients(packed, sh);
    },
  },
});
