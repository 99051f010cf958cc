import { philoxNormal, philoxUniform, type Tensor, tf } from '@tessera/tensor-core';

/** One draw of the rectified-flow path for a batch `x0 [B, ...]`. */
export type FlowSample = {
  /** `[B]`, uniform in [0, 1). */
  t: Tensor;
  /** `[B, ...]`, standard normal. */
  noise: Tensor;
  /** `(1 − t)·x0 + t·noise`, `[B, ...]`. */
  xt: Tensor;
};

/** Philox stream positions one `flowSample` of `x0`'s shape consumes: t, then two uniforms per element. */
export function flowSampleSpan(shape: readonly number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  return (shape[0] as number) + 2 * n;
}

/**
 * x_t = (1 − t)·x0 + t·ε with t ~ U[0, 1) per sample and ε ~ N(0, 1) (rectified flow, the interpolation
 * Wan trains with; papers/sparse.md A.3). t is a Philox uniform and ε tensor-core's `philoxNormal` (Box–Muller on
 * two Philox uniforms), so a draw is the same on every backend; it uses stream positions [offset, offset + flowSampleSpan(x0.shape)).
 */
export function flowSample(x0: Tensor, seed: number, offset: number): FlowSample {
  return tf.tidy(() => {
    const b = x0.shape[0] as number;
    const t = philoxUniform([b], { seed, offset });
    const noise = philoxNormal(x0.shape, { seed, offset: offset + b });
    const tb = tf.reshape(t, [b, ...x0.shape.slice(1).map(() => 1)]);
    const xt = tf.add(tf.mul(tf.sub(1, tb), x0), tf.mul(tb, noise));
    return { t, noise, xt };
  });
}
