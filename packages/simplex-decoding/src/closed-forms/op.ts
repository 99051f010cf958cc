import { defineOp, scalarUniforms, type Tensor, tf } from '@tessera/tensor-core';
import { sparsemaxBisectHost } from './sparsemax-bisect.host.js';
import { SparsemaxBisectProgram } from './sparsemax-bisect.program.js';

/**
 * Bisection steps on the threshold: the bracket [max − 1, max] has width 1, and after 40 halvings it
 * is below float32 resolution for any |max| ≥ 2⁻¹⁶, so later steps could not move it.
 */
export const SPARSEMAX_BISECT_ITERATIONS = 40;

interface BisectAttrs {
  iterations: number;
}

/**
 * Sort-free sparsemax of `z: [B, V]` in tfjs ops (the oracle of the kernels below): bisection on τ for
 * f(τ) = Σ [z − τ]₊ − 1 (decreasing, f(max − 1) ≥ 0 ≥ f(max)), then an exact finish on the support
 * found, τ = (Σ_{z > τ_lo} z − 1)/|{z > τ_lo}| — one Michelot step from below, which lands on the
 * threshold of Eq. 7 once the support is right. No sort, so it scales to large V.
 */
export function sparsemaxBisectReference(z: Tensor, iterations: number): Tensor {
  return tf.tidy(() => {
    const top = tf.max(z, 1, true);
    let lo = tf.sub(top, 1);
    let hi = tf.clone(top);
    for (let i = 0; i < iterations; i++) {
      // a tidy per step: each step's [B, V] temporaries are freed at once, not at the end of the loop
      const [nextLo, nextHi] = tf.tidy(() => {
        const mid = tf.mul(tf.add(lo, hi), 0.5);
        const enough = tf.greaterEqual(tf.sum(tf.relu(tf.sub(z, mid)), 1, true), 1);
        return [tf.where(enough, mid, lo), tf.where(enough, hi, mid)];
      });
      tf.dispose([lo, hi]);
      lo = nextLo as Tensor;
      hi = nextHi as Tensor;
    }
    const support = tf.greater(z, lo);
    const size = tf.sum(tf.cast(support, 'float32'), 1, true);
    const total = tf.sum(tf.where(support, z, tf.zerosLike(z)), 1, true);
    const tau = tf.div(tf.sub(total, 1), size);
    // top − top: 0, or NaN for an all −∞ row (relu(NaN) is 0 on some backends, so mark the row explicitly)
    return tf.add(tf.relu(tf.sub(z, tau)), tf.sub(top, top));
  });
}

/**
 * The sort-free sparsemax op, `z: [B, V]` → `q: [B, V]`: one WGSL dispatch on WebGPU (a workgroup per
 * row), a typed-array kernel on CPU, the tfjs reference elsewhere (WASM).
 */
export const sparsemaxBisectOp = defineOp<'z', BisectAttrs>({
  kernelName: 'TesseraSparsemaxBisect',
  inputs: ['z'],
  reference: ({ z }, { iterations }) => sparsemaxBisectReference(z, iterations),
  host: ({ z }, { iterations }) => sparsemaxBisectHost(z, iterations),
  webgpu: ({ inputs: { z }, attrs: { iterations }, run }) => {
    const [rows, cols] = z.shape as [number, number];
    return run(new SparsemaxBisectProgram(rows, cols, iterations), [z], 'float32', scalarUniforms('int32', [cols]));
  },
});

/** Sort-free sparsemax of `z: [B, V]` (see `sparsemaxBisectOp`). */
export function sparsemaxBisect(z: Tensor): Tensor {
  return sparsemaxBisectOp({ z }, { iterations: SPARSEMAX_BISECT_ITERATIONS });
}
