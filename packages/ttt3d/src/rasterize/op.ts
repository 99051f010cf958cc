import { defineOp, tf, vjp } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { GRAD_HEAD } from './gaussian-backward.program.js';
import { rasterizeBackwardHost, rasterizeHost } from './host.js';
import { rasterizeBackwardWebGPU, rasterizeWebGPU } from './kernel.js';
import { BACKWARD_INPUTS, type BackwardInput, GAUSSIAN_INPUTS, type GaussianInput, type RasterAttrs } from './raster-attrs.js';
import { rasterizePackedReference } from './reference.js';

/**
 * The backward op: vector–Jacobian product of the packed forward, all five gradients in one `[N, 11 + 3K]`
 * tensor (means, logScales, quaternions, opacity logit, SH). Its reference differentiates the dense
 * reference by autodiff — the oracle the host and WGSL backwards are tested against. cpu and wasm run the
 * typed-array backward (host.ts), WebGPU the WGSL one (kernel.ts); both replay the forward's tile lists.
 */
export const rasterizeBackwardOp = defineOp<BackwardInput, RasterAttrs>({
  kernelName: 'TesseraRasterizeGaussiansGrad',
  inputs: BACKWARD_INPUTS,
  reference: ({ means, logScales, quaternions, opacityLogits, sh, dy }, attrs) =>
    tf.tidy(() => {
      const n = means.shape[0] as number;
      const packed = (m: Tensor, l: Tensor, q: Tensor, o: Tensor, s: Tensor): Tensor =>
        rasterizePackedReference({ means: m, logScales: l, quaternions: q, opacityLogits: o, sh: s }, attrs);
      const [dm, dl, dq, dop, dsh] = vjp(packed, [means, logScales, quaternions, opacityLogits, sh], dy) as [
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
      ];
      return tf.concat([dm, dl, dq, tf.reshape(dop, [n, 1]), tf.reshape(dsh, [n, -1])], 1);
    }),
  // the reference is O(N·h·w) memory: at 20k Gaussians and 256² it exhausts the heap, so wasm runs it too
  hostBackends: ['cpu', 'wasm'],
  host: rasterizeBackwardHost,
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
 * Every backend runs the tiled algorithm — WebGPU the WGSL kernels, cpu and wasm the typed-array port in
 * host.ts — with the matching backward registered as its gradient. The dense reference (O(N·h·w) memory)
 * is the oracle only.
 */
export const rasterizeOp = defineOp<GaussianInput, RasterAttrs>({
  kernelName: 'TesseraRasterizeGaussians',
  inputs: GAUSSIAN_INPUTS,
  reference: (inputs, attrs) => rasterizePackedReference(inputs, attrs),
  hostBackends: ['cpu', 'wasm'],
  host: rasterizeHost,
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
