import { type Tensor, tf } from '@tessera/tensor-core';
import type { Mamba3Dims } from './types.js';

/**
 * The packed ops (`mamba3ChunkOp`, `mamba3StepOp`: the host kernels on cpu and wasm) return one tensor, per (b, h) row:
 * `[ y (L·R·P) | S (P·N) | rotated last k (R·N) | last angle (Nr) ]`. The previous-v part of the
 * state is x's last token and needs no kernel.
 */
export function packedWidth(d: Mamba3Dims): number {
  return d.length * d.rank * d.headDim + d.headDim * d.stateDim + d.rank * d.stateDim + d.angles;
}

/** Packs `y: [B, H, (L,) R·P]`, `ssm: [B, H, P, N]`, `k: [B, H, R·N]`, `angle: [B, H, Nr]`. */
export function pack(y: Tensor, ssm: Tensor, k: Tensor, angle: Tensor): Tensor {
  return tf.tidy(() => {
    const [b, h] = y.shape as [number, number];
    return tf.concat([tf.reshape(y, [b, h, -1]), tf.reshape(ssm, [b, h, -1]), k, angle], 2);
  });
}

export interface Unpacked {
  /** `[B, H, L, R·P]`, or `[B, H, R·P]` when `step`. */
  y: Tensor;
  ssm: Tensor;
  k: Tensor;
  angle: Tensor;
}

/** Splits a packed kernel result back into its parts. */
export function unpack(packed: Tensor, d: Mamba3Dims, step: boolean): Unpacked {
  return tf.tidy(() => {
    const { batch: b, heads: h, rank: r, headDim: p, stateDim: n } = d;
    const ly = d.length * r * p;
    const [y, ssm, k, angle] = tf.split(packed, [ly, p * n, r * n, d.angles], 2) as [Tensor, Tensor, Tensor, Tensor];
    return {
      y: tf.reshape(y, step ? [b, h, r * p] : [b, h, d.length, r * p]),
      ssm: tf.reshape(ssm, [b, h, p, n]),
      k,
      angle,
    };
  });
}
