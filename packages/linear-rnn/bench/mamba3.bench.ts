import { type Tensor, tf } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench } from '@tessera/tensor-core/bench';
import { mamba3, type Mamba3Options, mamba3Step } from '../src/mamba3/index.js';
import { TILE_ROWS } from '../src/mamba3/kernel-layout.js';
import { mamba3ChunkOp, mamba3StepOp } from '../src/mamba3/op.js';
import { recurrentReference } from '../src/mamba3/reference.js';
import { kernelInputs, type Shape } from './mamba3-inputs.js';

/**
 * FLOPs of the chunked form per call (SISO, chunk T = 64 as the WGSL kernel tiles): per token
 * 2T(N + P) for the intra-chunk q̃k̃ᵀ and weights·v products, 4NP for the inter-chunk read and the chunk
 * state. The same count is used for every implementation, so the ratio is a time ratio.
 */
function chunkFlops(s: Shape, l: number): number {
  return s.b * s.h * l * (2 * TILE_ROWS * (s.n + s.p) + 4 * s.n * s.p);
}

/** FLOPs of one decode step: the state update (2 outer products, 2 scalings) and the read-out. */
function stepFlops(s: Shape): number {
  return s.b * s.h * s.p * s.n * 11;
}

/**
 * Mamba-3 SISO: the chunked forward (WGSL on WebGPU) against the tfjs chunked composite and the tfjs
 * per-token recurrence, and the one-token decode step against the tfjs step; on cpu and wasm the forward is the
 * host recurrence, at B = 1, H = 4, P = N = 64, L ∈ {256, 1024}, decode at batch 1 and 16, and `ours` is the op
 * called directly (as in delta-rule.bench.ts: the public functions' NaN scan would blur the ratio). Full shapes are the issue's:
 * B = 1, H = 8, P = N = 64, L ∈ {1024, 4096, 16384}; decode at batch 1 and 64. Peer figures (issue 15):
 * mamba_ssm's Triton kernel, 0.335 / 0.327 / 1.27 ms at L = 1024 / 4096 / 16384 (H100, bf16). On WebGPU the forward
 * is also timed from a state, which runs one program more than from zeros (kernel.ts).
 */
export default defineBench({
  name: 'mamba3',
  async run({ backend, size, log }) {
    const full = size === 'full';
    // cpu and wasm (the host recurrence against the composite): a small model's shapes, whatever the size
    const host = backend === 'cpu' || backend === 'wasm';
    const shape: Shape = host ? { b: 1, h: 4, p: 64, n: 64 } : full ? { b: 1, h: 8, p: 64, n: 64 } : { b: 1, h: 2, p: 16, n: 16 };
    const lengths = host ? [256, 1024] : full ? [1024, 4096, 16384] : [128, 512];
    // the recurrence issues ~30 ops per token; beyond this length a measurement takes minutes
    const maxRecurrent = host ? 256 : full ? 1024 : 128;
    const rows: BenchRow[] = [];
    // the per-token reference dispatches tens of thousands of tiny programs: it runs after every other
    // measurement, as what it leaves behind in the driver slowed measurements taken after it
    const recurrent: Array<() => Promise<void>> = [];
    for (const l of lengths) {
      const t = kernelInputs(shape, l, l);
      const name = `B${shape.b} H${shape.h} L${l} P${shape.p} N${shape.n}`;
      const opts: Mamba3Options = { lambda: t.lambda, theta: t.theta, D: t.D };
      const flops = chunkFlops(shape, l);
      if (host && !mamba3ChunkOp.hasKernel()) {
        log(`mamba3 chunk ${name}: no host kernel on ${backend}`);
        tf.dispose(Object.values(t) as Tensor[]);
        continue;
      }
      log(`mamba3 chunk ${name}`);
      const workload = host ? 'mamba3 forward host kernel' : 'mamba3 forward';
      const ours = await bench('mamba3 chunk', () => {
        if (host) return mamba3ChunkOp(t, { rank: 1, chunkSize: 64 });
        const r = mamba3(t.x, t.dt, t.A, t.B, t.C, opts);
        return [r.output, r.finalState.ssm, r.finalState.k, r.finalState.v, r.finalState.angle];
      });
      const composite = await bench('tfjs chunked', () => mamba3ChunkOp.reference(t, { rank: 1, chunkSize: 64 }));
      rows.push(compare(workload, name, 'tfjs chunked', composite, ours, { flops }));
      if (!host) {
        const initialState = { ssm: t.ssm, k: t.k, v: t.v, angle: t.angle };
        const fromState = await bench('mamba3 chunk from a state', () => {
          const r = mamba3(t.x, t.dt, t.A, t.B, t.C, { ...opts, initialState });
          return [r.output, r.finalState.ssm, r.finalState.k, r.finalState.v, r.finalState.angle];
        });
        rows.push(compare('mamba3 forward from a state', name, 'from zeros', ours, fromState, { flops }));
      }
      if (l <= maxRecurrent) {
        const at = rows.length;
        recurrent.push(async () => {
          const base = await bench(
            'tfjs recurrent',
            () => {
              const r = recurrentReference(t, 1);
              return [r.y, r.ssm, r.k, r.angle];
            },
            { warmup: 1, warmupMs: 0, rounds: 3, iterations: 1 },
          );
          rows.splice(at, 0, compare(workload, name, 'tfjs recurrent', base, ours, { flops }));
          tf.dispose(Object.values(t) as Tensor[]);
        });
      } else {
        tf.dispose(Object.values(t) as Tensor[]);
      }
    }
    for (const b of host ? [1, 16] : full ? [1, 64] : [1, 8]) {
      const s = { ...shape, b };
      const t = kernelInputs(s, 0, 7 + b);
      const name = `B${b} H${s.h} P${s.p} N${s.n}`;
      if (host && !mamba3StepOp.hasKernel()) {
        log(`mamba3 step ${name}: no host kernel on ${backend}`);
        tf.dispose(Object.values(t) as Tensor[]);
        continue;
      }
      log(`mamba3 step ${name}`);
      const ours = await bench('mamba3Step', () => {
        if (host) return mamba3StepOp(t, { rank: 1, chunkSize: 1 });
        const r = mamba3Step(t.x, t.dt, t.A, t.B, t.C, {
          lambda: t.lambda,
          theta: t.theta,
          D: t.D,
          initialState: { ssm: t.ssm, k: t.k, v: t.v, angle: t.angle },
        });
        return [r.output, r.finalState.ssm, r.finalState.k, r.finalState.v, r.finalState.angle];
      });
      const composite = await bench('tfjs step', () => mamba3StepOp.reference(t, { rank: 1, chunkSize: 1 }));
      rows.push(
        compare(host ? 'mamba3 decode step host kernel' : 'mamba3 decode step', name, 'tfjs step', composite, ours, {
          flops: stepFlops(s),
        }),
      );
      tf.dispose(Object.values(t) as Tensor[]);
    }
    // last first, so that each splice index still points where its row belongs
    for (const measure of recurrent.reverse()) await measure();
    return rows;
  },
});
