import { checkFunction, checkRange } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import type { Tensor, TensorContainer } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';

const BENCH_OPTIONS = ['warmup', 'warmupMs', 'rounds', 'iterations', 'targetMs'] as const;

export interface BenchOptions {
  /** Untimed calls first (pipeline compilation, allocator warm-up, GPU clocks): at least this many. Default 3. */
  warmup?: number;
  /** ...and at least this long, so a GPU leaves its idle clocks before timing. Default 200 ms. */
  warmupMs?: number;
  /** Timed rounds; the median is reported. Default 7. */
  rounds?: number;
  /** Calls per round; default: as many as fill ~`targetMs`, at least 1. */
  iterations?: number;
  /** Wall time a round aims for when `iterations` is not given. Default 100 ms. */
  targetMs?: number;
}

export interface BenchResult {
  name: string;
  /** Milliseconds per call: median, fastest and slowest round. */
  median: number;
  min: number;
  max: number;
  iterations: number;
  rounds: number;
}

interface QueueBackend {
  ensureCommandEncoderReady?: () => void;
  endComputePassEncoder?: () => void;
  submitQueue?: () => void;
  device?: { queue: { onSubmittedWorkDone(): Promise<void> } };
}

/**
 * Waits until the work that produced `out` has finished on the device: on WebGPU, submits the pending
 * command encoder and waits on the queue (no readback); elsewhere, kernels already ran synchronously.
 */
export async function sync(out: TensorContainer): Promise<void> {
  const backend = tf.backend() as unknown as QueueBackend;
  if (typeof backend.submitQueue === 'function' && backend.device) {
    // what tfjs' own readback does before submitting: close the open compute pass, then submit
    backend.ensureCommandEncoderReady?.();
    backend.endComputePassEncoder?.();
    backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
    return;
  }
  const first = firstTensor(out);
  if (first && tf.getBackend() !== 'cpu' && tf.getBackend() !== 'wasm') await first.data();
}

function firstTensor(out: TensorContainer): Tensor | undefined {
  if (out instanceof tf.Tensor) return out;
  if (Array.isArray(out)) {
    for (const item of out) {
      const t = firstTensor(item as TensorContainer);
      if (t) return t;
    }
  } else if (out && typeof out === 'object' && !ArrayBuffer.isView(out)) {
    for (const item of Object.values(out)) {
      const t = firstTensor(item as TensorContainer);
      if (t) return t;
    }
  }
  return undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function timeCalls(fn: () => TensorContainer | Promise<TensorContainer>, n: number): Promise<number> {
  const start = performance.now();
  let last = await fn();
  for (let i = 1; i < n; i++) {
    tf.dispose(last);
    last = await fn();
  }
  await sync(last);
  const elapsed = performance.now() - start;
  tf.dispose(last);
  return elapsed;
}

/**
 * Times `fn` (which returns the tensors it produced; they are disposed). Warm-up, then `rounds` rounds of
 * `iterations` back-to-back calls with one device sync at the end of each round; reports ms per call.
 */
export async function bench(
  name: string,
  fn: () => TensorContainer | Promise<TensorContainer>,
  opts: BenchOptions = {},
): Promise<BenchResult> {
  if (typeof name !== 'string') throw new ValueError(`name: expected a string, received ${describeValue(name)}`);
  checkFunction(fn, 'fn');
  checkOptions(opts, BENCH_OPTIONS);
  for (const key of ['warmup', 'warmupMs', 'targetMs'] as const) if (opts[key] !== undefined) checkRange(opts[key], { min: 0 }, key);
  if (opts.rounds !== undefined) checkRange(opts.rounds, { min: 1, max: 10_000, integer: true }, 'rounds');
  if (opts.iterations !== undefined) checkRange(opts.iterations, { min: 1, max: 1_000_000, integer: true }, 'iterations');
  const { warmup = 3, warmupMs = 200, rounds = 7, targetMs = 100 } = opts;
  const warmStart = performance.now();
  for (let i = 0; i < warmup || performance.now() - warmStart < warmupMs; i++) await timeCalls(fn, 1);
  let iterations = opts.iterations;
  if (iterations === undefined) {
    const probe = await timeCalls(fn, 1);
    iterations = Math.max(1, Math.min(1000, Math.ceil(targetMs / Math.max(probe, 1e-3))));
  }
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) times.push((await timeCalls(fn, iterations)) / iterations);
  return { name, median: median(times), min: Math.min(...times), max: Math.max(...times), iterations, rounds };
}
