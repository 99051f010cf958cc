import { type Tensor, tf } from '../tf.js';

/** PyTorch's exact (erf) GELU, `nn.GELU()`: x·Φ(x) = x/2·(1 + erf(x/√2)) (tfjs has no GELU op). Elementwise. */
export function gelu(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}
