import { philoxUniform, tf } from '@tessera/tensor-core';
import type { KernelTensors } from '../src/mamba3/kernel-inputs.js';

/** Sizes of a Mamba-3 benchmark: batch, heads, head dim P, state size N. */
export interface Shape {
  b: number;
  h: number;
  p: number;
  n: number;
}

/**
 * Kernel inputs in the layer's ranges (A already expanded to dt's shape, a zero state), shared by the
 * Mamba-3 benches; the token axis is dropped for `step` shapes (l = 0).
 */
export function kernelInputs(s: Shape, l: number, seed: number): KernelTensors {
  return tf.tidy(() => {
    const u = (shape: number[], i: number) => philoxUniform(shape, { seed: seed * 100 + i });
    const sym = (shape: number[], i: number) => philoxUniform(shape, { seed: seed * 100 + i, low: -0.5, high: 0.5 });
    const tok = l > 0 ? [s.b, s.h, l] : [s.b, s.h];
    const nr = s.n / 4; // mamba_ssm's default rope_fraction 0.5: N/2 rotated dims, N/4 angles
    return {
      x: sym([...tok, s.p], 1),
      dt: tf.add(tf.mul(u(tok, 2), 0.1), 0.001),
      A: tf.neg(tf.add(u(tok, 3), 0.1)),
      B: sym([...tok, s.n], 4),
      C: sym([...tok, s.n], 5),
      lambda: u(tok, 6),
      theta: sym([...tok, nr], 7),
      D: tf.ones([s.h]),
      ssm: tf.zeros([s.b, s.h, s.p, s.n]),
      k: tf.zeros([s.b, s.h, s.n]),
      v: tf.zeros([s.b, s.h, s.p]),
      angle: tf.zeros([s.b, s.h, nr]),
    };
  });
}
