import { checkRange } from '../checks.js';
import { checkOptions } from '../options/index.js';
import { Module } from '../module/index.js';
import { type Tensor, tf, type Variable } from '../tf.js';
import { checkBoolean, checkLastDim, checkSize } from './checks.js';

export interface LayerNormOptions {
  /** Added to the variance before the square root, > 0. Default 1e-5 (PyTorch's). */
  eps?: number;
  /** A learned bias (initialised to 0). Default true, as PyTorch's `nn.LayerNorm`. */
  bias?: boolean;
}

const LAYER_NORM_OPTIONS = ['eps', 'bias'] as const satisfies readonly (keyof LayerNormOptions)[];

/**
 * PyTorch's `nn.LayerNorm(dim, eps, bias)` over the last axis: (x − mean)/√(var + eps)·weight (+ bias), the
 * biased variance, weight initialised to 1. `x: [..., D] → [..., D]`.
 */
export class LayerNorm extends Module {
  readonly weight: Variable;
  readonly bias: Variable | undefined;
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, opts?: LayerNormOptions) {
    super();
    this.dim = checkSize(dim, 'dim');
    const o = checkOptions(opts, LAYER_NORM_OPTIONS);
    this.eps = checkRange(o.eps ?? 1e-5, { min: 0, minExclusive: true }, 'opts.eps');
    const bias = checkBoolean(o.bias, true, 'opts.bias');
    this.weight = this.param('weight', tf.ones([this.dim]));
    this.bias = bias ? this.param('bias', tf.zeros([this.dim])) : undefined;
  }

  /** `x: [..., D] → [..., D]`. */
  forward(x: Tensor): Tensor {
    checkLastDim(x, this.dim, 'x');
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const y = tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps))), this.weight);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
