import { defineOp, type HostTensor, scalarUniforms, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { BokStepProgram } from './step.program.js';

/**
 * How the step reads the coverage weights from its `w` input: 'uniform-top-r' takes the per-row threshold
 * `[B, 1]` (w(v) = 1[log p(v) ≥ threshold]), 'prob' takes log p `[B, V]` (w = p; an input the shader does
 * not read would be dropped from its bindings), 'tensor' takes the weights `[B, V]`.
 * Deriving the built-in weights inside the pass saves a `[B, V]` tensor and a read of it per step.
 */
export type StepWeights = 'uniform-top-r' | 'prob' | 'tensor';

export interface BokStepAttrs {
  lambda: number;
  /** β̄·K, the coverage gradient's scale. */
  coverage: number;
  /** K − 1, the exponent of (1 − q). */
  kMinus1: number;
  weights: StepWeights;
}

type Inputs = 'logQ' | 'logP' | 'w' | 'eta';

function weightReader(kind: StepWeights, w: Float32Array, lp: Float32Array, cols: number): (i: number) => number {
  if (kind === 'prob') return (i) => Math.exp(w[i] as number);
  if (kind === 'tensor') return (i) => w[i] as number;
  return (i) => ((lp[i] as number) >= (w[Math.floor(i / cols)] as number) ? 1 : 0);
}

function bokStepHost({ logQ, logP, w, eta }: Record<Inputs, HostTensor>, attrs: BokStepAttrs): HostTensor {
  const { lambda, coverage, kMinus1 } = attrs;
  const [rows, cols] = logQ.shape as [number, number];
  const lq = logQ.values as Float32Array;
  const lp = logP.values as Float32Array;
  const ev = eta.values as Float32Array;
  const weight = weightReader(attrs.weights, w.values as Float32Array, lp, cols);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    const l = lq[i] as number;
    if (l === Number.NEGATIVE_INFINITY) {
      out[i] = l;
      continue;
    }
    let g = (1 + lambda) * (lp[i] as number) - lambda * l;
    if (coverage !== 0) g += coverage * weight(i) * (kMinus1 === 0 ? 1 : Math.exp(kMinus1 * Math.log1p(-Math.exp(l))));
    out[i] = l + (ev[Math.floor(i / cols)] as number) * g;
  }
  return { shape: [rows, cols], dtype: 'float32', values: out };
}

function referenceWeights(logP: Tensor, w: Tensor, kind: StepWeights): Tensor {
  if (kind === 'prob') return tf.exp(w);
  if (kind === 'tensor') return w;
  return tf.where(tf.greaterEqual(logP, w), tf.onesLike(logP), tf.zerosLike(logP));
}

/**
 * The unnormalised Best-of-K mirror step (arXiv 2602.18292, Eqs. 21–22 in log space, s = log p, the
 * gradient's constant dropped): y = log q + η((1 + λ) log p − λ log q + β̄K·w·(1 − q)^{K−1}), with y = −∞
 * wherever log q = −∞, so masked tokens stay masked (0·∞ never arises). `logQ, logP: [B, V]`, `eta: [B, 1]`,
 * `w` per `StepWeights` → y `[B, V]`; `logSoftmax(y)` completes the step. One fused pass on WebGPU and CPU;
 * the tfjs composite below is the oracle and runs elsewhere.
 */
export const bokStepOp = defineOp<Inputs, BokStepAttrs>({
  kernelName: 'TesseraBestOfKStep',
  inputs: ['logQ', 'logP', 'w', 'eta'],
  reference: ({ logQ, logP, w, eta }, { lambda, coverage, kMinus1, weights }) =>
    tf.tidy(() => {
      let g = tf.sub(tf.mul(logP, 1 + lambda), tf.mul(logQ, lambda));
      if (coverage !== 0) {
        const untouched = kMinus1 === 0 ? tf.onesLike(logQ) : tf.exp(tf.mul(tf.log1p(tf.neg(tf.exp(logQ))), kMinus1));
        g = tf.add(g, tf.mul(tf.mul(referenceWeights(logP, w, weights), coverage), untouched));
      }
      const outside = tf.equal(logQ, Number.NEGATIVE_INFINITY);
      return tf.where(outside, logQ, tf.add(logQ, tf.mul(eta, g)));
    }),
  host: bokStepHost,
  webgpu: ({ inputs, attrs, run }) => {
    const [rows, cols] = inputs.logQ.shape as [number, number];
    const uniforms = [
      ...scalarUniforms('int32', [rows * cols, cols]),
      ...scalarUniforms('float32', [attrs.lambda, attrs.coverage, attrs.kMinus1]),
    ];
    return run(new BokStepProgram(rows, cols, attrs.weights), [inputs.logQ, inputs.logP, inputs.w, inputs.eta], 'float32', uniforms);
  },
});
