import type { ChunkTile } from '../src/delta-rule/tile.js';
import { philoxUniform, type Tensor, tf, warmUpWebGPU } from '@tessera/tensor-core';
import type { Mamba3Options, Mamba3State } from '../src/mamba3/index.js';

/**
 * Runs `fn` once the WebGPU pipelines it creates exist, and returns what it returns. On webgpu,
 * `warmUpWebGPU` first creates them on Dawn's threads, for `fn` and for `check` (the ops that the test's
 * assertions apply to the result before reading it back: a tf.concat, a tf.stack …); then `fn` runs and
 * this waits, asleep, until the GPU is done. On cpu and wasm it only runs `fn`.
 *
 * With lavapipe and a cold shader cache, LLVM compiles a kernel when it is first dispatched, on the
 * driver's queue thread, for seconds to a minute. A pipeline created synchronously meanwhile (tfjs
 * compiles a new op on its first run) waits for that compile and stalls the event loop; vitest's worker
 * RPC gives up after 60 s of it. `fn` and `check` must be synchronous, read nothing back and assign no
 * variables.
 */
export async function warmThenRun<T>(fn: () => T, check?: (result: T) => unknown): Promise<T> {
  await warmUpWebGPU(() => {
    const result = fn();
    check?.(result);
  });
  const result = fn();
  await settleWebGPU();
  return result;
}

/** What `settleWebGPU` uses of tfjs' WebGPU backend (public methods of its class, as tensor-core's bench `sync`). */
interface QueueBackend {
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  device: { queue: { onSubmittedWorkDone(): Promise<void> } };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * On webgpu, submits what tfjs has recorded and waits until the GPU has run it, asleep 100 ms at a time
 * and turning the event loop in between (so that vitest's RPC is answered). Awaiting the GPU through
 * Dawn (a readback, onSubmittedWorkDone) keeps the main thread polling at a full core; next to lavapipe
 * compiling a kernel on a busy two-core machine, that made the compile take two to three times longer.
 */
async function settleWebGPU(): Promise<void> {
  if (tf.getBackend() !== 'webgpu') return;
  const backend = tf.backend() as unknown as QueueBackend;
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  let done = false;
  const idle = backend.device.queue.onSubmittedWorkDone().finally(() => {
    done = true;
  });
  while (!done) {
    Atomics.wait(sleepCell, 0, 0, 100);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await idle;
}

/** The tensors of a delta-rule call: q, k `[B, H, L, Dk]`, v `[B, H, L, Dv]`, beta, g `[B, H, L]`, state `[B, H, Dk, Dv]`. */
export type DeltaCase = { q: Tensor; k: Tensor; v: Tensor; beta: Tensor; g: Tensor; state: Tensor };

/**
 * Seeded delta-rule inputs: β ∈ (0.05, 0.95), log-decays g ∈ (−0.7, 0) (decay factors 0.5 … 1), a state in
 * ±0.5. Keys are L2-normalised (as the DeltaNet layers feed them) unless `rawKeys`, which draws them in
 * ±1.2 (norms up to ~2.5, as EFLA takes them).
 */
export function deltaCase(
  b: number,
  h: number,
  l: number,
  dk: number,
  dv: number,
  seed: number,
  opts: { rawKeys?: boolean } = {},
): DeltaCase {
  return tf.tidy(() => {
    const raw = philoxUniform([b, h, l, dk], { seed: seed + 1, low: opts.rawKeys ? -1.2 : -1, high: opts.rawKeys ? 1.2 : 1 });
    return {
      q: philoxUniform([b, h, l, dk], { seed, low: -1, high: 1 }),
      k: opts.rawKeys ? raw : tf.div(raw, tf.norm(raw, 'euclidean', -1, true)),
      v: philoxUniform([b, h, l, dv], { seed: seed + 2, low: -1, high: 1 }),
      beta: philoxUniform([b, h, l], { seed: seed + 3, low: 0.05, high: 0.95 }),
      g: philoxUniform([b, h, l], { seed: seed + 5, low: -0.7, high: 0 }),
      state: philoxUniform([b, h, dk, dv], { seed: seed + 4, low: -0.5, high: 0.5 }),
    };
  });
}

/** Tokens [start, start + size) of a `[B, H, L, …]` tensor. */
export function slice3(x: Tensor, start: number, size: number): Tensor {
  return tf.slice(
    x,
    x.shape.map((_, i) => (i === 2 ? start : 0)),
    x.shape.map((d, i) => (i === 2 ? size : d)),
  );
}

/** Token t of a `[B, H, L, …]` tensor, without the L axis. */
export function tokenAt(x: Tensor, t: number): Tensor {
  return tf.tidy(() => tf.squeeze(slice3(x, t, 1), [2]));
}

/** `g` with `value` (default −∞, a full reset) at the given flat positions; no readback, so any backend. */
export function withResets(g: Tensor, positions: readonly number[], value = Number.NEGATIVE_INFINITY): Tensor {
  return tf.tidy(() => {
    const mask = new Uint8Array(g.size);
    for (const p of positions) mask[p] = 1;
    return tf.where(tf.tensor(mask, g.shape, 'bool'), tf.fill(g.shape, value), g);
  });
}

/** Sizes of a Mamba-3 case: batch, heads, length, rank, head dim P, state size N, angles Nr. */
export interface Mamba3Sizes {
  b: number;
  h: number;
  l: number;
  r: number;
  p: number;
  n: number;
  nr: number;
}

/** The positional tensors of a Mamba-3 call and its options. */
export interface Mamba3Case {
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  opts: Mamba3Options & { lambda: Tensor; theta: Tensor; D: Tensor };
}

/** Seeded inputs in the ranges the layer produces: Δ ∈ [0.05, 0.35], A ∈ [−1.7, −0.2], λ ∈ [0, 1]. */
export function mamba3Case(s: Mamba3Sizes, seed: number): Mamba3Case {
  return tf.tidy(() => {
    const u = (shape: number[], i: number, low = 0, high = 1) => philoxUniform(shape, { seed: seed * 100 + i, low, high });
    const tokens = [s.b, s.h, s.l];
    return {
      x: u([...tokens, s.r * s.p], 1, -1, 1),
      dt: u(tokens, 2, 0.05, 0.35),
      A: u(tokens, 3, -1.7, -0.2),
      B: u([...tokens, s.r * s.n], 4, -1, 1),
      C: u([...tokens, s.r * s.n], 5, -1, 1),
      opts: { lambda: u(tokens, 6), theta: u([...tokens, s.nr], 7, -2, 2), D: u([s.h], 8), rank: s.r },
    };
  });
}

/** Every tensor of a Mamba-3 case. */
export function mamba3Tensors(c: Mamba3Case): Tensor[] {
  return [c.x, c.dt, c.A, c.B, c.C, c.opts.lambda, c.opts.theta, c.opts.D];
}

/** A seeded state in ±0.5 with angles in [0, 6). */
export function mamba3State(s: Mamba3Sizes, seed: number): Mamba3State {
  return tf.tidy(() => {
    const sym = (shape: number[], i: number) => philoxUniform(shape, { seed: seed * 100 + 50 + i, low: -0.5, high: 0.5 });
    return {
      ssm: sym([s.b, s.h, s.p, s.n], 1),
      k: sym([s.b, s.h, s.r * s.n], 2),
      v: sym([s.b, s.h, s.r * s.p], 3),
      angle: philoxUniform([s.b, s.h, s.nr], { seed: seed * 100 + 60, high: 6 }),
    };
  });
}

/** The tensors of a Mamba-3 state, for tf.dispose. */
export function stateTensors(s: Mamba3State): Tensor[] {
  return [s.ssm, s.k, s.v, s.angle];
}

/**
 * The state pass's variants the WGSL tests run beside `chunkTile`'s pick: one thread per output on 128 threads,
 * sums split 2 and 4 ways on 256, and wider slices on larger workgroups (512 and 1024 threads: the most the
 * WebGPU devices the project runs on allow), each overriding the fields it names.
 */
export const STATE_VARIANTS: readonly (Pick<ChunkTile, 'split' | 'threads'> & Partial<ChunkTile>)[] = [
  { split: 1, threads: 128 },
  { split: 2, threads: 256 },
  { split: 4, threads: 256 },
  { slice: 8, split: 4, threads: 512 },
  { slice: 16, split: 4, threads: 1024 },
];
