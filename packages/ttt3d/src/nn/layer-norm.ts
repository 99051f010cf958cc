import { checkRange, Module, ShapeError, type Tensor, tf, type Variable } from '@tessera/tensor-core';

/**
 * PyTorch's `nn.LayerNorm(dim, bias=False)` (the norm of every tttLRM / LaCT block, their `ln` and
 * `input_layernorm`): (x − mean) / √(var + eps) · weight over the last axis, biased variance, eps 1e-5, weight
 * initialised to 1, no bias. `x: [..., D] → [..., D]`. (A LayerNorm belongs in tensor-core's nn; it lives here until
 * it moves there.)
 */
export class LayerNorm extends Module {
  readonly weight: Variable;
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, eps = 1e-5) {
    super();
    this.dim = checkRange(dim, { min: 1, integer: true }, 'dim');
    this.eps = checkRange(eps, { min: 0, minExclusive: true }, 'eps');
    this.weight = this.param('weight', tf.ones([dim]));
  }

  /** `x: [..., D] → [..., D]`. */
  forward(x: Tensor): Tensor {
    if (x.shape.at(-1) !== this.dim) {
      throw new ShapeError(`x: expected last dimension ${this.dim}, received shape [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps))), this.weight);
    });
  }
}
