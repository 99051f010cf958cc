import { type Tensor, tf } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench, runKernel, runProgram } from '@tessera/tensor-core/bench';
import { mamba3 } from '../src/mamba3/index.js';
import { type ChunkStageName, chunkLayout, chunkStage, type FinishStageName, finishStage, stateBase } from '../src/mamba3/kernel.js';
import { mamba3ChunkFromZeroOp } from '../src/mamba3/op.js';
import { kernelInputs } from './mamba3-inputs.js';

/**
 * Where the WGSL chunked Mamba-3 forward spends its time, from a zero state: the kernel alone
 * (`mamba3ChunkFromZeroOp`, without `mamba3`'s validation and the slice of the last x), the two ways of making the
 * token and state tables — ChunkScanProgram alone against ChunkLocalProgram then StatePassProgram, the figure
 * SCAN_MAX_CHUNKS is chosen by (the op runs the scan up to 16 chunks, L = 1024) — then each program timed alone on
 * inputs made by running the earlier programs once, beside the whole op (`mamba3`, chunk mode). Shapes are
 * bench/mamba3.bench.ts' (B = 1, H = 8, P = N = 64, SISO). WebGPU only.
 */
export default defineBench({
  name: 'mamba3-passes',
  async run({ size, log }) {
    if (tf.getBackend() !== 'webgpu') {
      log('mamba3-passes: WebGPU only (it times single WGSL programs)');
      return [];
    }
    const [b, h, p, n] = size === 'full' ? [1, 8, 64, 64] : [1, 2, 16, 16];
    const lengths = size === 'full' ? [1024, 4096, 16384] : [256];
    const rows: BenchRow[] = [];
    for (const l of lengths) {
      const shape = `B${b} H${h} L${l} P${p} N${n}`;
      const t = kernelInputs({ b, h, p, n }, l, l);
      const seq = { x: t.x, dt: t.dt, A: t.A, B: t.B, C: t.C, lambda: t.lambda, theta: t.theta, D: t.D };
      const layout = chunkLayout(t, 1);
      // a fresh program per call (see chunkStage): a reused one would be recompiled every time
      const runner =
        (name: ChunkStageName, inputs: Tensor[], base = 0) =>
        () => {
          const { program, uniforms } = chunkStage(layout, name, base);
          return runProgram(program, inputs, uniforms);
        };
      const finisher =
        (name: FinishStageName, inputs: Tensor[], base = 0) =>
        () => {
          const { program, uniforms, outputs } = finishStage(layout, name, base);
          return runKernel(({ runOutputs }) => runOutputs(program, inputs, outputs, uniforms), {}, {});
        };
      const perToken = [t.x, t.B, t.dt, t.A, t.lambda, t.theta];
      // each program's inputs are the earlier programs' outputs, computed once and kept alive for the timings
      const scan = runner('scan', perToken);
      const scanned = scan();
      const local = runner('local', perToken);
      const tokens = local();
      const pass = runner('pass', [tokens]);
      const states = pass();
      const finish = finisher('finish', [t.x, t.B, t.C, tokens, states, t.D]);
      const scanBase = stateBase(layout, true);
      const finishAfterScan = finisher('finish', [t.x, t.B, t.C, scanned, scanned, t.D], scanBase);
      // where fewer than ten storage buffers bind: y alone, then the final state
      const output = finisher('output', [t.x, t.B, t.C, tokens, states, t.D]);
      const finalState = finisher('finalState', [t.B, states]);

      log(`mamba3 passes ${shape}`);
      const whole = await bench('mamba3 chunk', () => {
        const r = mamba3(t.x, t.dt, t.A, t.B, t.C, { lambda: t.lambda, theta: t.theta, D: t.D });
        return [r.output, r.finalState.ssm, r.finalState.k, r.finalState.v, r.finalState.angle];
      });
      // the programs through the op, without mamba3's validation and the slice of the last x
      const kernel = await bench('mamba3ChunkFromZeroOp', () => mamba3ChunkFromZeroOp(seq, { rank: 1, chunkSize: 64 }));
      rows.push(compare('mamba3 kernel only', shape, 'whole op', whole, kernel));
      const split = await bench('local + pass', () => {
        const first = local();
        const { program, uniforms } = chunkStage(layout, 'pass');
        const second = runProgram(program, [first], uniforms);
        first.dispose();
        return second;
      });
      rows.push(compare('mamba3 tables: ChunkScan', shape, 'ChunkLocal + StatePass', split, await bench('scan', scan)));
      for (const [name, fn] of [
        ['ChunkScan', scan],
        ['ChunkLocal', local],
        ['StatePass', pass],
        ['ChunkOutput with the final state', finish],
        ['ChunkOutput with the final state (scan tables)', finishAfterScan],
        ['ChunkOutput (y alone)', output],
        ['FinalState', finalState],
      ] as const) {
        rows.push(compare(`mamba3 ${name}`, shape, 'whole op', whole, await bench(name, fn)));
      }
      tf.dispose([...(Object.values(t) as Tensor[]), scanned, tokens, states]);
    }
    return rows;
  },
});
