import { checkDtype, checkOptions, checkRange, checkShape, deviceZeros, Module, philoxUniform, tf } from '@tessera/tensor-core';
import type { Tensor, Variable } from '@tessera/tensor-core';
import { checkBoolean, checkElements, checkSize } from '../checks.js';

/** The largest layer seed: a layer derives up to 16 Philox streams from it, and every stream key stays a safe integer. */
export const MAX_SEED = 2 ** 48;

/** Uniform in [−bound, bound) from the seeded Philox stream, so every backend starts from the same weights. */
function uniformInit(shape: number[], bound: number, seed: number): Tensor {
  return philoxUniform(shape, { seed, low: -bound, high: bound });
}

/** A Philox seed option: a non-negative safe integer, default 0. */
function checkSeed(seed: number | undefined, name: string): number {
  return checkRange(seed ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, name);
}

export interface ShortConvolutionOptions {
  /** Kernel width, 1 … 64. Default 4, as fla's conv_size. */
  kernelSize?: number;
  /** Apply SiLU after the convolution (fla's activation='silu'). Default true. */
  silu?: boolean;
  /** Philox seed of the weight initialisation, a non-negative safe integer. Default 0. */
  seed?: number;
}

const CONV_OPTIONS = ['kernelSize', 'silu', 'seed'] as const satisfies readonly (keyof ShortConvolutionOptions)[];

/** Options of `ShortConvolution.forward` and `step`. */
export interface ConvCallOptions {
  /** The last `kernelSize − 1` inputs, `[B, kernelSize − 1, C]` (an earlier call's `finalState`); zeros when absent. */
  initialState?: Tensor;
}

const CONV_CALL_OPTIONS = ['initialState'] as const satisfies readonly (keyof ConvCallOptions)[];

/** Output of a convolution call: the activations and the state to pass to the next call (a tensor container). */
export type ConvResult = {
  /** `[B, L, C]` (forward) or `[B, C]` (step). */
  output: Tensor;
  /** The last `kernelSize − 1` inputs, `[B, kernelSize − 1, C]`, oldest first. */
  finalState: Tensor;
};

/**
 * fla's `ShortConvolution`: a causal depthwise conv1d without bias, then SiLU. Channel c at step t is
 * `Σ_j w[c, 0, j] · x[t − K + 1 + j, c]`, inputs before the sequence start being zero or the state.
 * The weight is `[C, 1, K]` (PyTorch's depthwise `nn.Conv1d`), initialised U(−1/√K, 1/√K) like PyTorch.
 */
export class ShortConvolution extends Module {
  readonly weight: Variable;
  readonly channels: number;
  readonly kernelSize: number;
  readonly silu: boolean;

  constructor(channels: number, opts?: ShortConvolutionOptions) {
    super();
    this.channels = checkSize(channels, 'channels');
    const o = checkOptions(opts, CONV_OPTIONS);
    this.kernelSize = checkRange(o.kernelSize ?? 4, { min: 1, max: 64, integer: true }, 'opts.kernelSize');
    this.silu = checkBoolean(o.silu, true, 'opts.silu');
    const seed = checkSeed(o.seed, 'opts.seed');
    checkElements([channels, this.kernelSize], 'channels · kernelSize (the weight [C, 1, K])');
    this.weight = this.param('weight', uniformInit([channels, 1, this.kernelSize], 1 / Math.sqrt(this.kernelSize), seed));
  }

  /** A zero state for a batch of `batch` sequences: `[B, K − 1, C]`. */
  zeroState(batch: number): Tensor {
    checkSize(batch, 'batch');
    checkElements([batch, this.kernelSize - 1, this.channels], 'batch (the state [batch, K − 1, C])');
    return deviceZeros([batch, this.kernelSize - 1, this.channels]);
  }

  /** `x: [B, L, C]`, options `{ initialState: [B, K − 1, C] }` (zeros when absent) → `{ output: [B, L, C], finalState }`. */
  forward(x: Tensor, opts?: ConvCallOptions): ConvResult {
    const o = checkOptions(opts, CONV_CALL_OPTIONS);
    const dims = checkShape(x, ['B', 'L', this.channels], 'x');
    checkDtype(x, 'float32', 'x');
    const cache = o.initialState;
    if (cache !== undefined) {
      checkShape(cache, ['B', this.kernelSize - 1, this.channels], 'opts.initialState', dims);
      checkDtype(cache, 'float32', 'opts.initialState');
    }
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
      return { output: y, finalState: tf.slice(padded, [0, length, 0], [batch, k - 1, this.channels]) };
    });
  }

  /** One token: `xt: [B, C]`, options `{ initialState: [B, K − 1, C] }` → `{ output: [B, C], finalState }`; equals `forward` on L = 1. */
  step(xt: Tensor, opts?: ConvCallOptions): ConvResult {
    const o = checkOptions(opts, CONV_CALL_OPTIONS);
    const dims = checkShape(xt, ['B', this.channels], 'xt');
    if (o.initialState !== undefined) checkShape(o.initialState, ['B', this.kernelSize - 1, this.channels], 'opts.initialState', dims);
    return tf.tidy(() => {
      const out = this.forward(tf.expandDims(xt, 1), o);
      return { output: tf.squeeze(out.output, [1]), finalState: out.finalState };
    });
  }
}
