import { checkDtype, checkLiveTensor, checkRange } from '../checks.js';
import { ShapeError } from '../errors.js';
import { checkOptions } from '../options/index.js';
import { Module } from '../module/index.js';
import { type Tensor, tf, type Variable } from '../tf.js';
import { checkLastDim, checkSize } from './checks.js';

export interface NormOptions {
  /** Added to the mean square before the square root, > 0. Default 1e-5 (fla's norm_eps). */
  eps?: number;
}

const NORM_OPTIONS = ['eps'] as const satisfies readonly (keyof NormOptions)[];

/** x / √(mean(x²) + eps) over the last axis, without the weight: shared by both norms. */
function rmsNormalize(x: Tensor, eps: number): Tensor {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))));
}

/** `dim` and the checked options of both norms. */
function normConfig(dim: number, opts: NormOptions | undefined): { dim: number; eps: number } {
  const d = checkSize(dim, 'dim');
  const o = checkOptions(opts, NORM_OPTIONS);
  return { dim: d, eps: checkRange(o.eps ?? 1e-5, { min: 0, minExclusive: true }, 'opts.eps') };
}

/** RMSNorm (Zhang & Sennrich 2019, eq. 4) over the last axis: `[..., D] → [..., D]`, weight initialised to 1. */
export class RMSNorm extends Module {
  readonly weight: Variable;
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, opts?: NormOptions) {
    super();
    ({ dim: this.dim, eps: this.eps } = normConfig(dim, opts));
    this.weight = this.param('weight', tf.ones([this.dim]));
  }

  /** `x: [..., D] → [..., D]`. */
  forward(x: Tensor): Tensor {
    checkLastDim(x, this.dim, 'x');
    return tf.tidy(() => tf.mul(rmsNormalize(x, this.eps), this.weight));
  }
}

/**
 * fla's `FusedRMSNormGated` with the 'swish' activation (norm before gate): `RMSNorm(x) · w · SiLU(g)`
 * over the last axis. `x, g: [..., D] → [..., D]`; weight initialised to 1.
 */
export class GatedRMSNorm extends Module {
  readonly weight: Variable;
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, opts?: NormOptions) {
    super();
    ({ dim: this.dim, eps: this.eps } = normConfig(dim, opts));
    this.weight = this.param('weight', tf.ones([this.dim]));
  }

  /** `x, gate: [..., D] → [..., D]`. */
  forward(x: Tensor, gate: Tensor): Tensor {
    checkLastDim(x, this.dim, 'x');
    checkLiveTensor(gate, 'gate');
    if (!tf.util.arraysEqual(x.shape, gate.shape)) {
      throw new ShapeError(`gate: expected the shape of x [${x.shape.join(', ')}], received [${gate.shape.join(', ')}]`);
    }
    checkDtype(gate, 'float32', 'gate');
    return tf.tidy(() => tf.mul(tf.mul(rmsNormalize(x, this.eps), this.weight), tf.mul(gate, tf.sigmoid(gate))));
  }
}
