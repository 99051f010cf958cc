import { checkRange, checkShape, deviceZeros, Module, philoxUniform, ShapeError, tf } from '@tessera/tensor-core';
import type { Tensor, Variable } from '@tessera/tensor-core';

/** Uniform in [−bound, bound) from the seeded Philox stream, so every backend starts from the same weights. */
function uniformInit(shape: number[], bound: number, seed: number): Tensor {
  return tf.tidy(() => tf.mul(tf.sub(philoxUniform(shape, { seed }), 0.5), 2 * bound));
}

function checkLastDim(x: Tensor, dim: number, name: string): void {
  if (x.rank < 1 || x.shape[x.rank - 1] !== dim) {
    throw new ShapeError(`${name}: expected shape [..., ${dim}], received [${x.shape.join(', ')}]`);
  }
}

export interface LinearOptions {
  /** Add a learned bias (initialised to 0). Default false, as every projection of the fla layers. */
  bias?: boolean;
  /** Philox seed of the weight initialisation. Default 0. */
  seed?: number;
}

/**
 * Affine map over the last axis, `[..., in] → [..., out]`. The weight is stored `[out, in]` as PyTorch's
 * `nn.Linear` does, so state dicts move to and from fla checkpoints unchanged; it is initialised
 * U(−1/√in, 1/√in), PyTorch's default bound.
 */
export class Linear extends Module {
  readonly weight: Variable;
  readonly bias: Variable | undefined;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = checkRange(inFeatures, { min: 1, integer: true }, 'inFeatures');
    this.outFeatures = checkRange(outFeatures, { min: 1, integer: true }, 'outFeatures');
    const seed = checkRange(opts.seed ?? 0, { min: 0, integer: true }, 'opts.seed');
    this.weight = this.param('weight', uniformInit([outFeatures, inFeatures], 1 / Math.sqrt(inFeatures), seed));
    this.bias = opts.bias ? this.param('bias', tf.zeros([outFeatures])) : undefined;
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

export interface NormOptions {
  /** Added to the mean square before the square root. Default 1e-5 (fla's norm_eps). */
  eps?: number;
}

/** x / √(mean(x²) + eps) over the last axis, without the weight: shared by both norms. */
function rmsNormalize(x: Tensor, eps: number): Tensor {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))));
}

/** RMSNorm (Zhang & Sennrich 2019, eq. 4) over the last axis: `[..., D] → [..., D]`, weight initialised to 1. */
export class RMSNorm extends Module {
  readonly weight: Variable;
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, opts: NormOptions = {}) {
    super();
    this.dim = checkRange(dim, { min: 1, integer: true }, 'dim');
    this.eps = checkRange(opts.eps ?? 1e-5, { min: 0, minExclusive: true }, 'opts.eps');
    this.weight = this.param('weight', tf.ones([dim]));
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

  constructor(dim: number, opts: NormOptions = {}) {
    super();
    this.dim = checkRange(dim, { min: 1, integer: true }, 'dim');
    this.eps = checkRange(opts.eps ?? 1e-5, { min: 0, minExclusive: true }, 'opts.eps');
    this.weight = this.param('weight', tf.ones([dim]));
  }

  /** `x, gate: [..., D] → [..., D]`. */
  forward(x: Tensor, gate: Tensor): Tensor {
    checkLastDim(x, this.dim, 'x');
    if (!tf.util.arraysEqual(x.shape, gate.shape)) {
      throw new ShapeError(`gate: expected the shape of x [${x.shape.join(', ')}], received [${gate.shape.join(', ')}]`);
    }
    return tf.tidy(() => tf.mul(tf.mul(rmsNormalize(x, this.eps), this.weight), tf.mul(gate, tf.sigmoid(gate))));
  }
}

export interface ShortConvolutionOptions {
  /** Kernel width. Default 4, as fla's conv_size. */
  kernelSize?: number;
  /** Apply SiLU after the convolution (fla's activation='silu'). Default true. */
  silu?: boolean;
  /** Philox seed of the weight initialisation. Default 0. */
  seed?: number;
}

/** Output of a convolution call: the activations and the cache to pass to the next call (a tensor container). */
export type ConvResult = {
  /** `[B, L, C]` (forward) or `[B, C]` (step). */
  y: Tensor;
  /** The last `kernelSize − 1` inputs, `[B, kernelSize − 1, C]`, oldest first. */
  cache: Tensor;
};

/**
 * fla's `ShortConvolution`: a causal depthwise conv1d without bias, then SiLU. Channel c at step t is
 * `Σ_j w[c, 0, j] · x[t − K + 1 + j, c]`, inputs before the sequence start being zero or the cache.
 * The weight is `[C, 1, K]` (PyTorch's depthwise `nn.Conv1d`), initialised U(−1/√K, 1/√K) like PyTorch.
 */
export class ShortConvolution extends Module {
  readonly weight: Variable;
  readonly channels: number;
  readonly kernelSize: number;
  readonly silu: boolean;

  constructor(channels: number, opts: ShortConvolutionOptions = {}) {
    super();
    this.channels = checkRange(channels, { min: 1, integer: true }, 'channels');
    this.kernelSize = checkRange(opts.kernelSize ?? 4, { min: 1, integer: true }, 'opts.kernelSize');
    this.silu = opts.silu ?? true;
    const seed = checkRange(opts.seed ?? 0, { min: 0, integer: true }, 'opts.seed');
    this.weight = this.param('weight', uniformInit([channels, 1, this.kernelSize], 1 / Math.sqrt(this.kernelSize), seed));
  }

  /** A zero cache for a batch of `batch` sequences: `[B, K − 1, C]`. */
  initialCache(batch: number): Tensor {
    checkRange(batch, { min: 1, integer: true }, 'batch');
    return deviceZeros([batch, this.kernelSize - 1, this.channels]);
  }

  /** `x: [B, L, C]`, optional `cache: [B, K − 1, C]` (zeros when absent) → `{ y: [B, L, C], cache }`. */
  forward(x: Tensor, cache?: Tensor): ConvResult {
    const dims = checkShape(x, ['B', 'L', this.channels], 'x');
    if (cache !== undefined) checkShape(cache, ['B', this.kernelSize - 1, this.channels], 'cache', dims);
    const [batch, length] = x.shape as [number, number, number];
    const k = this.kernelSize;
    return tf.tidy(() => {
      const past = cache ?? deviceZeros([batch, k - 1, this.channels]);
      const padded = tf.concat([past, x], 1);
      const w = tf.reshape(this.weight, [this.channels, k]);
      let y: Tensor = deviceZeros([batch, length, this.channels]);
      for (let j = 0; j < k; j++) {
        const tap = tf.reshape(tf.slice(w, [0, j], [this.channels, 1]), [this.channels]);
        y = tf.add(y, tf.mul(tf.slice(padded, [0, j, 0], [batch, length, this.channels]), tap));
      }
      if (this.silu) y = tf.mul(y, tf.sigmoid(y));
      return { y, cache: tf.slice(padded, [0, length, 0], [batch, k - 1, this.channels]) };
    });
  }

  /** One token: `xt: [B, C]`, `cache: [B, K − 1, C]` → `{ y: [B, C], cache }`; equals `forward` on L = 1. */
  step(xt: Tensor, cache: Tensor): ConvResult {
    const dims = checkShape(xt, ['B', this.channels], 'xt');
    checkShape(cache, ['B', this.kernelSize - 1, this.channels], 'cache', dims);
    return tf.tidy(() => {
      const out = this.forward(tf.expandDims(xt, 1), cache);
      return { y: tf.squeeze(out.y, [1]), cache: out.cache };
    });
  }
}
