import { type Tensor, tf, warmUpWebGPU } from '@tessera/tensor-core';
import { describeBackends, recordPrograms } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { mamba3, type Mamba3State, mamba3Step } from '../src/mamba3/index.js';
import { SCAN_MAX_CHUNKS, TILE_ROWS } from '../src/mamba3/kernel-layout.js';
import { mamba3Case, mamba3State, mamba3Tensors, stateTensors } from './cases.js';

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
    // after the token and state tables: y, the final state, angles and keys, and tfjs' slice of the last x (the state's v)
    const afterTables = ['ChunkOutputProgram', 'FinalRowProgram', 'FinalRowProgram', 'FinalKeyProgram', 'SliceProgram'];
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
        const names = await programsOf(() => all(mamba3(c.x, c.dt, c.A, c.B, c.C, { ...c.opts, initialState })));
        expect(names).toEqual(expected);
        tf.dispose([...mamba3Tensors(c), ...(initialState ? stateTensors(initialState) : [])]);
      });
    }

    it('a decoding step from a state runs five programs', async () => {
      const sizes = { b: 2, h: 1, l: 1, r: 1, p: 2, n: 4, nr: 1 };
      const c = mamba3Case(sizes, 3);
      const initialState = mamba3State(sizes, 4);
      const at = (u: Tensor) => tf.squeeze(u, [2]);
      const t = { x: at(c.x), dt: at(c.dt), A: at(c.A), B: at(c.B), C: at(c.C), lambda: at(c.opts.lambda), theta: at(c.opts.theta) };
      const names = await programsOf(() =>
        all(mamba3Step(t.x, t.dt, t.A, t.B, t.C, { lambda: t.lambda, theta: t.theta, D: c.opts.D, initialState })),
      );
      expect(names).toEqual(['StepAngleProgram', 'StepKeyProgram', 'StepCoefProgram', 'StepStateProgram', 'StepOutputProgram']);
      tf.dispose([...mamba3Tensors(c), ...stateTensors(initialState), ...Object.values(t)]);
    });
  },
  { backends: ['webgpu'] },
);
