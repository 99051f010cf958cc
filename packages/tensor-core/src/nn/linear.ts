import { philoxUniform } from '../philox/index.js';
import { checkOptions } from '../options/index.js';
import { Module } from '../module/index.js';
import { type Tensor, tf, type Variable } from '../tf.js';
import { checkBoolean, checkLastDim, checkSeed, checkSize, checkWeightElements } from './checks.js';

export interface LinearOptions {
  /** Add a learned bias (initialised to 0). Default false, as every projection of the fla layers. */
  bias?: boolean;
  /** Philox seed of the weight initialisation, a non-negative safe integer. Default 0. */
  seed?: number;
}

const LINEAR_OPTIONS = ['bias', 'seed'] as const satisfies readonly (keyof LinearOptions)[];

/**
 * Affine map over the last axis, `[..., in] → [..., out]`. The weight is stored `[out, in]` as PyTorch's
 * `nn.Linear` does, so state dicts move to and from PyTorch checkpoints unchanged; it is initialised
 * U(−1/√in, 1/√in) (PyTorch's default bound) from the seeded Philox stream, so every backend starts from
 * the same weights. `in · out` is at most 2^28.
 */
export class Linear extends Module {
  readonly weight: Variable;
  readonly bias: Variable | undefined;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts?: LinearOptions) {
    super();
    this.inFeatures = checkSize(inFeatures, 'inFeatures');
    this.outFeatures = checkSize(outFeatures, 'outFeatures');
    const o = checkOptions(opts, LINEAR_OPTIONS);
    const seed = checkSeed(o.seed, 'opts.seed');
    const bias = checkBoolean(o.bias, false, 'opts.bias');
    checkWeightElements([outFeatures, inFeatures], 'inFeatures · outFeatures (the weight [out, in])');
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', philoxUniform([outFeatures, inFeatures], { seed, low: -bound, high: bound }));
    this.bias = bias ? this.param('bias', tf.zeros([outFeatures])) : undefined;
  }

  /** `x: [..., in] → [..., out]`. */
  forward(x: Tensor): Tensor {
    checkLastDim(x, this.inFeatures, 'x');
    return tf.tidy(() => {
      const flat = tf.reshape(x, [-1, this.inFeatures]);
      let y = tf.matMul(flat, this.weight, false, true);
      if (this.bias) y = tf.add(y, this.bias);
      return tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}
