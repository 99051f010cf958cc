import { philoxUniformArray, type Tensor, tf } from '@tessera/tensor-core';

/**
 * N(0, std²) float32 numbers from tensor-core's Philox stream (Box–Muller on pairs of uniforms), drawn on the host so
 * that a seed gives the same weights on every backend. torch's `randn`/`normal_` draw differently, so the values (not
 * the distribution) differ from a PyTorch run with the same seed. `shape → Tensor<float32>[shape]`.
 * (A generic `philoxNormal` belongs in tensor-core; it lives here until it moves there.)
 */
export function philoxNormal(shape: readonly number[], opts: { seed: number; std: number }): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = philoxUniformArray(2 * Math.ceil(n / 2), opts.seed, 0);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 − u lies in (0, 1], so the logarithm is finite
    const r = Math.sqrt(-2 * Math.log(1 - (u[i] as number))) * opts.std;
    const a = 2 * Math.PI * (u[i + 1] as number);
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return tf.tensor(out, [...shape], 'float32');
}
