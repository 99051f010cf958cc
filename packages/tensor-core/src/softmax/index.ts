import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { checkDtype, checkRange } from '../checks.js';
import { ShapeError } from '../errors.js';
import { defineOp, type WebGPUKernelContext } from '../op/define-op.js';
import { scalarUniforms } from '../op/webgpu-program.js';
import { tf } from '../tf.js';
import { softmaxHost } from './host.js';
import { NormalizeProgram } from './normalize.program.js';
import { logSoftmaxReference, softmaxReference } from './reference.js';
import { RowStatsProgram } from './row-stats.program.js';

interface Attrs {
  /** Logits are divided by it first (softmax(x / T)). */
  temperature: number;
}

/**
 * Elements per workgroup of a split-row pass over `[rows, cols]`: enough workgroups to fill a large GPU
 * (~2k for 64×128k), at least 1024 so that each thread reduces several elements before the shared-memory
 * tree, at most `maxChunk` (a power of two; kernels that keep their chunk in registers need a lower cap).
 */
export function splitRowChunk(rows: number, cols: number, maxChunk = 8192): number {
  const target = Math.ceil((rows * cols) / 2048);
  let chunk = 1024;
  while (chunk < target && chunk < maxChunk) chunk *= 2;
  return chunk;
}

function softmaxWebGPU(log: boolean) {
  return ({ inputs, attrs, run, dispose }: WebGPUKernelContext<'x', Attrs>): TensorInfo => {
    const x = inputs.x;
    const [rows, cols] = x.shape as [number, number];
    const chunk = splitRowChunk(rows, cols);
    const chunks = Math.ceil(cols / chunk);
    const uniforms = [...scalarUniforms('int32', [cols, chunk, chunks]), ...scalarUniforms('float32', [attrs.temperature])];
    const stats = run(new RowStatsProgram(rows, chunks), [x], 'float32', uniforms);
    const out = run(new NormalizeProgram(rows, cols, chunks, log), [x, stats], 'float32', uniforms);
    dispose(stats);
    return out;
  };
}

const softmaxOp = defineOp<'x', Attrs>({
  kernelName: 'TesseraSoftmax',
  inputs: ['x'],
  reference: ({ x }, { temperature }) => softmaxReference(x, temperature),
  host: ({ x }, { temperature }) => softmaxHost(x, false, temperature),
  webgpu: softmaxWebGPU(false),
  gradient: {
    saveOutput: true,
    // ∂softmax(x/T): dx = y ⊙ (dy − Σ dy ⊙ y) / T
    grad: (dy, [y], { temperature }) => ({
      x: () => tf.tidy(() => tf.div(tf.mul(y as Tensor, tf.sub(dy, tf.sum(tf.mul(dy, y as Tensor), -1, true))), temperature)),
    }),
  },
});

const logSoftmaxOp = defineOp<'x', Attrs>({
  kernelName: 'TesseraLogSoftmax',
  inputs: ['x'],
  reference: ({ x }, { temperature }) => logSoftmaxReference(x, temperature),
  host: ({ x }, { temperature }) => softmaxHost(x, true, temperature),
  webgpu: softmaxWebGPU(true),
  gradient: {
    saveOutput: true,
    // ∂log-softmax(x/T): dx = (dy − exp(y) · Σ dy) / T
    grad: (dy, [y], { temperature }) => ({
      x: () => tf.tidy(() => tf.div(tf.sub(dy, tf.mul(tf.exp(y as Tensor), tf.sum(dy, -1, true))), temperature)),
    }),
  },
});

export interface SoftmaxOptions {
  /** T > 0, default 1: the distribution of logits / T (divided in the kernel, no extra pass). */
  temperature?: number;
}

function rowwise(op: typeof softmaxOp, logits: Tensor, name: string, opts: SoftmaxOptions): Tensor {
  checkDtype(logits, 'float32', name);
  const temperature = checkRange(opts.temperature ?? 1, { min: 0, minExclusive: true }, 'temperature');
  if (logits.rank < 1 || logits.size === 0) {
    throw new ShapeError(`${name}: expected a non-empty tensor of rank ≥ 1 ([..., V]), received shape [${logits.shape.join(', ')}]`);
  }
  const cols = logits.shape[logits.rank - 1] as number;
  if (logits.rank === 2) return op({ x: logits }, { temperature });
  return tf.tidy(() => tf.reshape(op({ x: tf.reshape(logits, [-1, cols]) }, { temperature }), logits.shape));
}

/**
 * Softmax over the last axis: `[..., V] → [..., V]`, rows summing to 1. Runs a split-row two-pass WGSL
 * kernel on WebGPU and a typed-array kernel on CPU/WASM; differentiable. `temperature` divides the logits
 * inside the kernel.
 */
export function softmax(logits: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return rowwise(softmaxOp, logits, 'logits', opts);
}

/** Log-softmax over the last axis of z = x / T, z − logsumexp(z): `[..., V] → [..., V]`; differentiable. */
export function logSoftmax(logits: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return rowwise(logSoftmaxOp, logits, 'logits', opts);
}

export { logSoftmaxOp, softmaxOp };
