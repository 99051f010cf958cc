import { defineOp, type Tensor, tf, vjp } from '@tessera/tensor-core';
import { flashBackwardHost } from './backward.host.js';
import { flashForwardHost } from './forward.host.js';
import { type FlashBackwardInput, flashBackwardWebGPU, flashForwardWebGPU } from './kernel.js';
import { type FlashAttrs, type FlashInput, flashReference } from './reference.js';

const FLASH_INPUTS = ['q', 'k', 'v', 'kvNum', 'kvIdx', 'qNum', 'qIdx'] as const;
/** Where the typed-array kernels run (see the bench: they beat the tfjs composite there). */
const HOST_BACKENDS = ['cpu', 'wasm'] as const;
const BACKWARD_INPUTS = ['q', 'k', 'v', 'o', 'lse', 'dO', 'dLse', 'kvNum', 'kvIdx', 'qNum', 'qIdx'] as const;

/**
 * The backward as its own op: three WGSL programs on WebGPU, a typed-array kernel on the host backends
 * (`HOST_BACKENDS`), and elsewhere the VJP of the reference (never reached in practice: there the
 * forward runs the differentiable reference).
 */
export const flashBackwardOp = defineOp<FlashBackwardInput, FlashAttrs, Tensor[]>({
  kernelName: 'TesseraFlashAttentionBackward',
  inputs: BACKWARD_INPUTS,
  outputs: 3,
  reference: (t, attrs) =>
    tf.tidy(() => {
      // −∞ log-sum-exp of empty rows times a zero cotangent would be NaN; the saved forward tells them
      const finite = tf.isFinite(t.lse);
      const f = (q: Tensor, k: Tensor, v: Tensor): Tensor => {
        const [o, lse] = flashReference({ ...t, q, k, v }, attrs) as [Tensor, Tensor];
        const lseTerm = tf.where(finite, tf.mul(lse, t.dLse), tf.zerosLike(lse));
        return tf.add(tf.sum(tf.mul(o, t.dO)), tf.sum(lseTerm));
      };
      return vjp(f, [t.q, t.k, t.v], tf.scalar(1));
    }),
  host: flashBackwardHost,
  hostBackends: HOST_BACKENDS,
  webgpu: flashBackwardWebGPU,
});

/**
 * Dense or block-sparse attention with its log-sum-exp: `[output [B, H, Lq, D], lse [B, H, Lq]]`. WGSL
 * forward and backward on WebGPU (the mask lists are constants for the gradient); the tfjs reference,
 * differentiated by autodiff, elsewhere.
 */
export const flashOp = defineOp<FlashInput, FlashAttrs, Tensor[]>({
  kernelName: 'TesseraFlashAttention',
  inputs: FLASH_INPUTS,
  outputs: 2,
  reference: flashReference,
  host: flashForwardHost,
  hostBackends: HOST_BACKENDS,
  webgpu: flashForwardWebGPU,
  gradient: {
    inputsToSave: FLASH_INPUTS,
    saveOutput: true,
    grad: (dy, saved, attrs) => {
      const [q, k, v, kvNum, kvIdx, qNum, qIdx, o, lse] = saved as Tensor[];
      const [dO, dLse] = dy as Tensor[];
      const grads = flashBackwardOp({ q, k, v, o, lse, dO, dLse, kvNum, kvIdx, qNum, qIdx } as Record<FlashBackwardInput, Tensor>, attrs);
      return { q: () => grads[0] as Tensor, k: () => grads[1] as Tensor, v: () => grads[2] as Tensor };
    },
  },
});
