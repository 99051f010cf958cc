import { philoxUniform, type Tensor, tf, warmUpWebGPU, webgpuStorageBufferLimit } from '@tessera/tensor-core';
import { runKernel } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose, recordPrograms } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { mamba3, type Mamba3State, mamba3Step } from '../src/mamba3/index.js';
import { CHUNK_FINISH_BUFFERS } from '../src/mamba3/chunk-output.program.js';
import { chunkFromZeroWebGPU, chunkWebGPU, stepFusedWebGPU, stepProgramsWebGPU } from '../src/mamba3/kernel.js';
import { SCAN_MAX_CHUNKS, TILE_ROWS } from '../src/mamba3/kernel-layout.js';
import { STEP_BUFFERS } from '../src/mamba3/step.program.js';
import { type Mamba3Sizes, mamba3Case, mamba3State, mamba3Tensors, stateTensors } from './cases.js';

/** The WGSL programs (their class names) one call of `fn` dispatches on the active WebGPU backend, once its pipelines exist. */
async function programsOf(fn: () => Tensor[]): Promise<string[]> {
  await warmUpWebGPU(fn);
  const { result, programs } = recordPrograms(fn);
  tf.dispose(result);
  return programs.map((p) => p.name);
}

const all = (r: { output: Tensor; finalState: Mamba3State }): Tensor[] => [r.output, ...stateTensors(r.finalState)];

// A call's cost on WebGPU is mostly its dispatch count (bench/mamba3-passes.bench.ts): these counts are the budget.
describeBackends(
  'mamba3 dispatches',
  () => {
    // after the token and state tables: y with the final state, angles and keys (one program where ten storage buffers
    // bind, as on lavapipe and the H100; were four), and tfjs' slice of the last x (the state's v)
    const afterTables = ['ChunkOutputProgram', 'SliceProgram'];
    const short = Math.max(SCAN_MAX_CHUNKS, 1) * TILE_ROWS;
    const split = ['ChunkLocalProgram', 'StatePassProgram', ...afterTables];
    for (const [l, withState, expected] of [
      [short, false, SCAN_MAX_CHUNKS > 0 ? ['ChunkScanProgram', ...afterTables] : split],
      [short + 1, false, split],
      [short, true, split],
    ] as const) {
      it(`a forward of ${l} tokens ${withState ? 'from a state' : 'from zeros'} runs ${expected.length} programs`, async () => {
        const sizes = { b: 1, h: 1, l, r: 1, p: 2, n: 4, nr: 1 };
        const c = mamba3Case(sizes, 1);
        const initialState = withState ? mamba3State(sizes, 2) : undefined;
        expect(webgpuStorageBufferLimit()).toBeGreaterThanOrEqual(CHUNK_FINISH_BUFFERS);
        const names = await programsOf(() => all(mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, initialState })));
        expect(names).toEqual(expected);
        tf.dispose([...mamba3Tensors(c), ...(initialState ? stateTensors(initialState) : [])]);
      });
    }

    // P 70: two P tiles, the final state written by the first; several chunks; pairs past Nr; scan and pass tables
    for (const [sizes, withState] of [
      [{ b: 2, h: 3, l: 130, r: 2, p: 70, n: 8, nr: 2 }, true],
      [{ b: 1, h: 2, l: 37, r: 1, p: 5, n: 6, nr: 3 }, false],
      [{ b: 3, h: 1, l: 200, r: 3, p: 4, n: 4, nr: 1 }, false],
    ] as [Mamba3Sizes, boolean][]) {
      const { b, h, l, r, p, n, nr } = sizes;
      it(`a forward writes y and the final state in one program as y then FinalStateProgram do, bit for bit (B ${b} H ${h} L ${l} R ${r} P ${p} N ${n} Nr ${nr}${withState ? ', from a state' : ''})`, async () => {
        const c = mamba3Case(sizes, 6);
        const state = mamba3State(sizes, 7);
        const seq = { x: c.x, dt: c.dt, A: c.A, B: c.B, C: c.C, lambda: c.opts.lambda, theta: c.opts.theta, D: c.opts.D };
        const attrs = { rank: r, chunkSize: 64 };
        const forward = (fused: boolean): Tensor[] =>
          withState
            ? runKernel((ctx) => chunkWebGPU(ctx, fused), { ...seq, ...state }, attrs)
            : runKernel((ctx) => chunkFromZeroWebGPU(ctx, fused), seq, attrs);
        const fused = forward(true);
        const apart = forward(false);
        // the recurrence, per token: the oracle of both forms
        const ref = mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, mode: 'recurrent', ...(withState ? { initialState: state } : {}) });
        const want = [ref.output, ref.finalState.ssm, ref.finalState.k, ref.finalState.angle];
        for (const [i, name] of ['y', 'ssm', 'k', 'angle'].entries()) {
          expect(fused[i]!.shape, name).toEqual(want[i]!.shape);
          expect(Array.from(await fused[i]!.data()), name).toEqual(Array.from(await apart[i]!.data()));
          await expectAllClose(apart[i]!, want[i]!, { atol: 1e-4, rtol: 1e-4, message: name });
        }
        tf.dispose([...fused, ...apart, ...want, ref.finalState.v, ...mamba3Tensors(c), ...stateTensors(state)]);
      });
    }

    it('a decoding step from a state runs one program where 16 storage buffers bind; from zeros, four fills more', async () => {
      const sizes = { b: 2, h: 1, l: 1, r: 1, p: 2, n: 4, nr: 1 };
      const c = mamba3Case(sizes, 3);
      const initialState = mamba3State(sizes, 4);
      const at = (u: Tensor) => tf.squeeze(u, [2]);
      const t = { x: at(c.x), dt: at(c.dt), A: at(c.A), B: at(c.B), C: at(c.C), lambda: at(c.opts.lambda), theta: at(c.opts.theta) };
      // lavapipe and the H100 offer 16 storage buffers a stage: StepProgram's twelve inputs and four outputs
      expect(webgpuStorageBufferLimit()).toBeGreaterThanOrEqual(STEP_BUFFERS);
      const opts = { lambda: t.lambda, theta: t.theta, D: c.opts.D };
      expect(await programsOf(() => all(mamba3Step(t.x, t.dt, t.A, t.B, t.C, { ...opts, initialState })))).toEqual(['StepProgram']);
      // the zero state: ssm, k, v and angle
      expect(await programsOf(() => all(mamba3Step(t.x, t.dt, t.A, t.B, t.C, opts)))).toEqual([
        ...Array<string>(4).fill('FillProgram'),
        'StepProgram',
      ]);
      tf.dispose([...mamba3Tensors(c), ...stateTensors(initialState), ...Object.values(t)]);
    });

    for (const [b, h, r, p, n, nr] of [
      [2, 3, 2, 4, 6, 2],
      [1, 2, 1, 9, 8, 4],
      [3, 1, 3, 5, 4, 1],
    ] as const) {
      it(`computes the step of the per-result programs in one program (B ${b} H ${h} R ${r} P ${p} N ${n} Nr ${nr})`, async () => {
        const u = (shape: number[], seed: number, low = -1, high = 1) => philoxUniform(shape, { seed, low, high });
        const inputs = {
          x: u([b, h, r * p], 1),
          dt: u([b, h], 2, 0.01, 0.5),
          A: u([b, h], 3, -2, -0.1),
          B: u([b, h, r * n], 4),
          C: u([b, h, r * n], 5),
          lambda: u([b, h], 6, 0, 1),
          theta: u([b, h, nr], 7, -3, 3),
          D: u([h], 8),
          ssm: u([b, h, p, n], 9),
          k: u([b, h, r * n], 10),
          v: u([b, h, r * p], 11),
          angle: u([b, h, nr], 12, 0, 6.28),
        };
        const attrs = { rank: r, chunkSize: 1 };
        const fused = runKernel(stepFusedWebGPU, inputs, attrs);
        const inline = runKernel((ctx) => stepProgramsWebGPU(ctx, true), inputs, attrs);
        const separate = runKernel((ctx) => stepProgramsWebGPU(ctx, false), inputs, attrs);
        for (let i = 0; i < 4; i++) {
          expect(fused[i]!.shape).toEqual(separate[i]!.shape);
          // the coefficients inline or in a program of their own: the same float32 operations, the same bits
          expect(Array.from(await inline[i]!.data())).toEqual(Array.from(await separate[i]!.data()));
          await expectAllClose(fused[i]!, separate[i]!, { atol: 1e-6, rtol: 1e-6 });
        }
        // the keys and angles come from the same operations in every form
        expect(Array.from(await fused[2]!.data())).toEqual(Array.from(await separate[2]!.data()));
        expect(Array.from(await fused[3]!.data())).toEqual(Array.from(await separate[3]!.data()));
        // the state changed (a test of a no-op would pass too)
        expect(Array.from(await fused[1]!.data())).not.toEqual(Array.from(await inputs.ssm.data()));
        tf.dispose([...fused, ...inline, ...separate, ...Object.values(inputs)]);
      });
    }
  },
  { backends: ['webgpu'] },
);
