import { defineOp, tf, vjp } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { GRAD_HEAD } from './gaussian-backward.program.js';
import { rasterizeBackwardHost, rasterizeHost } from './host.js';
import { rasterizeBackwardWebGPU, rasterizeWebGPU } from './kernel.js';
import type { HostTensor } from '@tessera/tensor-core';
import {
  BACKWARD_INPUTS,
  type BackwardInput,
  GAUSSIAN_INPUTS,
  type GaussianInput,
  type HostBackwardInput,
  type RasterAttrs,
} from './raster-attrs.js';
import { rasterizePackedReference } from './reference.js';

/**
 * The backward op: vector–Jacobian product of the packed forward, all five gradients in one `[N, 11 + 3K]`
 * tensor (means, logScales, quaternions, opacity logit, SH). Its reference differentiates the dense
 * reference by autodiff — the oracle the host and WGSL backwards are tested against. cpu and wasm run the
 * typed-array backward (host.ts), which bins again in float64; WebGPU the WGSL one (kernel.ts), which replays the
 * forward's saved binning (`pre`, `order`, `keys`; ignored by the reference and the host kernel).
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
  host: (inputs: Record<HostBackwardInput, HostTensor>, attrs) => rasterizeBackwardHost(inputs, attrs),
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

/** What the host kernels and the reference return for the binning outputs: nothing (their backward bins again). */
function noBinning(): HostTensor[] {
  return [
    { shape: [0], dtype: 'float32', values: new Float32Array(0) },
    { shape: [0], dtype: 'int32', values: new Int32Array(0) },
    { shape: [0], dtype: 'int32', values: new Int32Array(0) },
  ];
}

/**
 * The rasteriser op: Gaussian tensors → `[h, w, 5]` (premultiplied colour, expected depth, transmittance), then the
 * binning its backward replays (BINNING_OUTPUTS: `pre`, `order`, `keys`; empty on cpu and wasm and from the
 * reference). Every backend runs the tiled algorithm — WebGPU the WGSL kernels, cpu and wasm the typed-array port
 * in host.ts — with the matching backward registered as its gradient. The dense reference (O(N·h·w) memory) is the
 * oracle only. The caller disposes the binning outputs: tfjs keeps its own copies alive only while a tape needs them.
 */
export const rasterizeOp = defineOp<GaussianInput, RasterAttrs, Tensor[]>({
  kernelName: 'TesseraRasterizeGaussians',
  inputs: GAUSSIAN_INPUTS,
  outputs: 4,
  reference: (inputs, attrs) => [rasterizePackedReference(inputs, attrs), tf.zeros([0]), tf.zeros([0], 'int32'), tf.zeros([0], 'int32')],
  hostBackends: ['cpu', 'wasm'],
  host: (inputs, attrs) => [rasterizeHost(inputs, attrs), ...noBinning()],
  webgpu: rasterizeWebGPU,
  gradient: {
    inputsToSave: GAUSSIAN_INPUTS,
    saveOutput: true,
    // tfjs passes a zero dy for each binning output (a host array of its size, never uploaded: nothing reads it)
    grad: ([dy], saved, attrs) => {
      const [means, logScales, quaternions, opacityLogits, sh, rendered, pre, order, keys] = saved as [
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
      ];
      const packed = rasterizeBackwardOp(
        { means, logScales, quaternions, opacityLogits, sh, rendered, dy: dy as Tensor, pre, order, keys },
        attrs,
      );
      return unpackGradients(packed, sh);
    },
  },
});
