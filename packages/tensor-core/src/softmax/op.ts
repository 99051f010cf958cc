import type { Tensor } from '@tensorflow/tfjs-core';
import { defineOp } from '../op/define-op.js';
import { tf } from '../tf.js';
import { softmaxHost } from './host.js';
import { type SoftmaxAttrs, softmaxWebGPU } from './kernel.js';
import { logSoftmaxReference, softmaxReference } from './reference.js';

/**
 * Row-wise softmax of x / T, `x: [R, C]` → `[R, C]`: a split-row two-pass WGSL kernel on WebGPU, a
 * typed-array kernel on CPU, the tfjs composite (tfjs' SIMD kernels) on WASM. Rows follow the rules of
 * `softmax` (index.ts) for −∞, +∞ and NaN on every backend.
 */
export const softmaxOp = defineOp<'x', SoftmaxAttrs>({
  kernelName: 'TesseraSoftmax',
  inputs: ['x'],
  reference: ({ x }, { temperature }) => softmaxReference(x, temperature),
  host: ({ x }, { temperature }) => softmaxHost(x, false, temperature),
  webgpu: softmaxWebGPU(false),
  gradient: {
    saveOutput: true,
    // ∂softmax(x/T): dx = y ⊙ (dy − Σ dy ⊙ y) / T
    grad: (dy, [y], { temperature }) => ({
      x: () => tf.tidy(() => tf.div(tf.mul(y as Tensor, tf.sub(dy, tf.sum(tf.mul(dy, y as Tensor), -1, true))), temperature)),
    }),
  },
});

/** Row-wise log-softmax of z = x / T, z − logsumexp(z), `[R, C]` → `[R, C]`; kernels as `softmaxOp`. */
export const logSoftmaxOp = defineOp<'x', SoftmaxAttrs>({
  kernelName: 'TesseraLogSoftmax',
  inputs: ['x'],
  reference: ({ x }, { temperature }) => logSoftmaxReference(x, temperature),
  host: ({ x }, { temperature }) => softmaxHost(x, true, temperature),
  webgpu: softmaxWebGPU(true),
  gradient: {
    saveOutput: true,
    // ∂log-softmax(x/T): dx = (dy − exp(y) · Σ dy) / T
    grad: (dy, [y], { temperature }) => ({
      x: () => tf.tidy(() => tf.div(tf.sub(dy, tf.mul(tf.exp(y as Tensor), tf.sum(dy, -1, true))), temperature)),
    }),
  },
});
