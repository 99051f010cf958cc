import { defineOp, type Tensor, tf } from '@tessera/tensor-core';
import { screenHost } from './host.js';
import { screenReference } from './reference.js';

/**
 * The closed forms' non-finite screen (rows.ts, `screenRows`): `z: [B, V]` → `[z', nanRows]`. A host
 * kernel on CPU and WASM, where the reference's fourteen tfjs ops cost more than the decoders they guard
 * (on WASM its boolean broadcast alone took 2.4 ms at 4×8192, against ~0.05 ms for the kernel's read and
 * copy of the rows); the reference on WebGPU. The gradient is the reference's: dz = dz' on rows without
 * a +∞, 0 on the others (their z' is constant).
 */
export const screenOp = defineOp<'z', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraScreenRows',
  inputs: ['z'],
  outputs: 2,
  reference: ({ z }) => screenReference(z),
  hostBackends: ['cpu', 'wasm'],
  host: ({ z }) => screenHost(z),
  gradient: {
    inputsToSave: ['z'],
    grad: ([dz], [z]) => ({
      z: () =>
        tf.tidy(() => {
          const x = z as Tensor;
          const infRows = tf.any(tf.logicalAnd(tf.isInf(x), tf.greater(x, 0)), 1, true);
          return tf.where(tf.broadcastTo(infRows, x.shape), tf.zerosLike(x), dz as Tensor);
        }),
    }),
  },
});
