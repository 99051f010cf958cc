import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { checkDtype } from '../checks.js';
import { ShapeError } from '../errors.js';
import { defineOp, type WebGPUKernelContext } from '../op/define-op.js';
import { scalarUniforms } from '../op/webgpu-program.js';
import { tf } from '../tf.js';
import { softmaxHost } from './host.js';
import { NormalizeProgram } from './normalize.program.js';
import { logSoftmaxReference, softmaxReference } from './reference.js';
import { RowStatsProgram } from './row-stats.program.js';

type Attrs = Record<string, never>;

/**
 * Elements per workgroup: enough workgroups to fill a large GPU (~2k for 64×128k), at least 1024 so
 * that each thread reduces several elements before the shared-memory tree.
 */
function chunkFor(rows: number, cols: number): number {
  const target = Math.ceil((rows * cols) / 2048);
  let chunk = 1024;
  while (chunk < target && chunk < 8192) chunk *= 2;
  return chunk;
}

function softmaxWebGPU(log: boolean) {
  return ({ inputs, run, dispose }: WebGPUKernelContext<'x', Attrs>): TensorInfo => {
    const x = inputs.x;
    const [rows, cols] = x.shape as [number, number];
    const chunk = chunkFor(rows, cols);
    const chunks = Math.ceil(cols / chunk);
    const uniforms = scalarUniforms('int32', [cols, chunk, chunks]);
    const stats = run(new RowStatsProgram(rows, chunks), [x], 'float32', uniforms);
    const out = run(new NormalizeProgram(rows, cols, chunks, log), [x, stats], 'float32', uniforms);
    dispose(stats);
    return out;
  };
}

const softmaxOp = defineOp<'x', Attrs>({
  kernelName: 'TesseraSoftmax',
  inputs: ['x'],
  reference: ({ x }) => softmaxReference(x),
  host: ({ x }) => softmaxHost(x, false),
  webgpu: softmaxWebGPU(false),
  gradient: {
    saveOutput: true,
    // ∂softmax: dx = y ⊙ (dy − Σ dy ⊙ y)
    grad: (dy, [y]) => ({
      x: () => tf.tidy(() => tf.mul(y as Tensor, tf.sub(dy, tf.sum(tf.mul(dy, y as Tensor), -1, true)))),
    }),
  },
});

const logSoftmaxOp = defineOp<'x', Attrs>({
  kernelName: 'TesseraLogSoftmax',
  inputs: ['x'],
  reference: ({ x }) => logSoftmaxReference(x),
  host: ({ x }) => softmaxHost(x, true),
  webgpu: softmaxWebGPU(true),
  gradient: {
    saveOutput: true,
    // ∂log-softmax: dx = dy − exp(y) · Σ dy
    grad: (dy, [y]) => ({
      x: () => tf.tidy(() => tf.sub(dy, tf.mul(tf.exp(y as Tensor), tf.sum(dy, -1, true)))),
    }),
  },
});

function rowwise(op: typeof softmaxOp, logits: Tensor, name: string): Tensor {
  checkDtype(logits, 'float32', name);
  if (logits.rank < 1 || logits.size === 0) {
    throw new ShapeError(`${name}: expected a non-empty tensor of rank ≥ 1 ([..., V]), received shape [${logits.shape.join(', ')}]`);
  }
  const cols = logits.shape[logits.rank - 1] as number;
  if (logits.rank === 2) return op({ x: logits }, {});
  return tf.tidy(() => tf.reshape(op({ x: tf.reshape(logits, [-1, cols]) }, {}), logits.shape));
}

/**
 * Softmax over the last axis: `[..., V] → [..., V]`, rows summing to 1. Runs a split-row two-pass WGSL
 * kernel on WebGPU and a typed-array kernel on CPU/WASM; differentiable.
 */
export function softmax(logits: Tensor): Tensor {
  return rowwise(softmaxOp, logits, 'logits');
}

/** Log-softmax over the last axis, x − logsumexp(x): `[..., V] → [..., V]`; differentiable. */
export function logSoftmax(logits: Tensor): Tensor {
  return rowwise(logSoftmaxOp, logits, 'logits');
}

export { logSoftmaxOp, softmaxOp };
