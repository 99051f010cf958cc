import { defineOp, type HostTensor, scalarUniforms, type Tensor, tf } from '@tessera/tensor-core';
import { topRWebGPU } from './kernel.js';
import { KthLargestProgram } from './kth-largest.program.js';
import { logSpaceRows } from './log-space.js';
import { MAX_FUSED_R } from './radix-select.wgsl.js';
import { BokStepProgram } from './step.program.js';
import { topRHost } from './top-r.host.js';

/*
 * The Best-of-K ops: `kthLargestOp` (the r-th largest log-probability of each row, for the top-r
 * weights), `bokStepOp` (one unnormalised mirror step over the whole row, the general path) and
 * `bokTopROp` (the whole fused 'uniform-top-r' solve, WebGPU; kernel.ts dispatches its programs).
 */

interface KthAttrs {
  k: number;
}

function kthLargestHost({ x }: Record<'x', HostTensor>, { k }: KthAttrs): HostTensor {
  const [rows, cols] = x.shape as [number, number];
  const src = x.values as Float32Array;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = src.slice(r * cols, (r + 1) * cols).sort();
    out[r] = row[cols - k] as number;
  }
  return { shape: [rows, 1], dtype: 'float32', values: out };
}

/**
 * The k-th largest value of each row, counting repeats (as `tf.topk(x, k).values[:, k − 1]`):
 * `x: [B, V]` float32, 1 ≤ k ≤ V → `[B, 1]`. A sort-free radix select on WebGPU, a typed-array kernel on
 * CPU, tf.topk elsewhere. Rows containing NaN give an unspecified value.
 */
export const kthLargestOp = defineOp<'x', KthAttrs>({
  kernelName: 'TesseraRowKthLargest',
  inputs: ['x'],
  reference: ({ x }, { k }) => tf.tidy(() => tf.slice(tf.topk(x, k).values, [0, k - 1], [-1, 1])),
  host: kthLargestHost,
  webgpu: ({ inputs, attrs, run }) => {
    const [rows, cols] = inputs.x.shape as [number, number];
    return run(new KthLargestProgram(rows), [inputs.x], 'float32', scalarUniforms('int32', [cols, attrs.k]));
  },
});

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

type StepInputs = 'logQ' | 'logP' | 'w' | 'eta';

function weightReader(kind: StepWeights, w: Float32Array, lp: Float32Array, cols: number): (i: number) => number {
  if (kind === 'prob') return (i) => Math.exp(w[i] as number);
  if (kind === 'tensor') return (i) => w[i] as number;
  return (i) => ((lp[i] as number) >= (w[Math.floor(i / cols)] as number) ? 1 : 0);
}

function bokStepHost({ logQ, logP, w, eta }: Record<StepInputs, HostTensor>, attrs: BokStepAttrs): HostTensor {
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
 * `w` per `StepWeights` → y `[B, V]`; `logSoftmax(y)` completes the step. One fused pass on WebGPU, CPU and
 * WASM (there the tfjs composite below, the oracle, took 6 ms at 1×32768 against ~1.5 ms for the host pass).
 */
export const bokStepOp = defineOp<StepInputs, BokStepAttrs>({
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
  hostBackends: ['cpu', 'wasm'],
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

/** Settings of the fused path, with the step size η resolved. */
export interface TopRAttrs {
  k: number;
  lambda: number;
  betaBar: number;
  eta: number;
  steps: number;
  temperature: number;
  r: number;
}

/** The most steps the power-sum pass keeps in registers; more (rare: the paper uses 5) take the general path. */
export const MAX_FUSED_STEPS = 16;

/**
 * Whether the fused path computes these settings: r ≤ 256 (the weighted list lives in workgroup memory),
 * 1 ≤ J ≤ 16, and ηλ ≤ 1 — the default η = 1/L always satisfies it; beyond it the off-R exponents a_j can
 * turn negative and the power sums' fixed shift would overflow.
 */
export function fusedTopRApplies({ eta, lambda, steps, r }: TopRAttrs): boolean {
  return r <= MAX_FUSED_R && steps >= 1 && steps <= MAX_FUSED_STEPS && eta * lambda <= 1;
}

/**
 * Best-of-K with 'uniform-top-r' weights (arXiv 2602.18292, Algorithm 1, w = 1 on the r most probable
 * tokens): `x: [B, V]` logits → q `[B, V]`. Off the weighted set R a mirror step is affine in log p
 * (log q_j = a_j log p + c_j), so the J steps reduce to J power sums Σ_{v∉R} p(v)^{a_j} and the explicit
 * iteration of the ≤ r weighted tokens. On WebGPU, three dispatches: per (row, chunk) the softmax
 * statistics, the chunk's candidates for R (radix select in registers) and its power sums (1 read);
 * per row the merge of the candidates into x_r and R, and the J steps on R (reads only the chunk
 * records); per (row, chunk) the write of q (1 read, 1 write). That is softmax's traffic — 2 reads and
 * 1 write of `[B, V]` — against 3 + 6J + 1 passes in 3J + 4 dispatches for the general path.
 * CPU and WASM: the same passes on typed arrays (top-r.host.ts). The reference: the general log-space
 * iteration.
 * Requires `fusedTopRApplies(attrs)`.
 */
export const bokTopROp = defineOp<'x', TopRAttrs>({
  kernelName: 'TesseraBestOfKTopR',
  inputs: ['x'],
  reference: ({ x }, { k, lambda, betaBar, eta, steps, temperature, r }) =>
    logSpaceRows(x, {
      k,
      lambda,
      beta: lambda === 0 ? 0 : betaBar / lambda,
      betaBar,
      eta,
      steps,
      temperature,
      r,
      weights: 'uniform-top-r',
    }),
  hostBackends: ['cpu', 'wasm'],
  host: ({ x }, attrs) => topRHost(x, attrs),
  webgpu: topRWebGPU,
});
