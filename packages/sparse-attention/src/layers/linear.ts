import { Module, philoxUniform, type Tensor, tf, type Variable } from '@tessera/tensor-core';

/**
 * `[..., in] → [..., out]` without bias; the weight stored `[out, in]` as PyTorch's `nn.Linear`, initialised
 * U(−1/√in, 1/√in) from a Philox seed. (linear-rnn has its own; a shared one belongs in tensor-core.)
 */
export class Linear extends Module {
  readonly weight: Variable;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    seed: number,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', philoxUniform([outFeatures, inFeatures], { seed, low: -bound, high: bound }));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const shape = x.shape.slice(0, -1);
      const y = tf.matMul(tf.reshape(x, [-1, this.inFeatures]), this.weight, false, true);
      return tf.reshape(y, [...shape, this.outFeatures]);
    });
  }
}
