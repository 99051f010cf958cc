import { type Tensor, tf } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench, runProgram } from '@tessera/tensor-core/bench';
import { type ChunkStageName, chunkLayout, chunkStage } from '../src/mamba3/kernel.js';
import { mamba3 } from '../src/mamba3/index.js';
import { mamba3ChunkOp } from '../src/mamba3/op.js';
import { kernelInputs } from './mamba3-inputs.js';

/**
 * Where the WGSL chunked Mamba-3 forward spends its time: the kernel alone (the seven programs through
 * `mamba3ChunkOp`, without `mamba3`'s validation and unpacking), then each program timed alone on inputs
 * made by running the earlier programs once, beside the whole op (`mamba3`, chunk mode). Shapes
 * are bench/mamba3.bench.ts' (B = 1, H = 8, P = N = 64, SISO). WebGPU only.
 */
export default defineBench({
  name: 'mamba3-passes',
  async run({ size, log }) {
    if (tf.getBackend() !== 'webgpu') {
      log('mamba3-passes: WebGPU only (it times single WGSL programs)');
      return [];
    }
    const [b, h, p, n] = size === 'full' ? [1, 8, 64, 64] : [1, 2, 16, 16];
    const lengths = size === 'full' ? [4096, 16384] : [256];
    const rows: BenchRow[] = [];
    for (const l of lengths) {
      const shape = `B${b} H${h} L${l} P${p} N${n}`;
      const t = kernelInputs({ b, h, p, n }, l, l);
      const layout = chunkLayout(t, 1);
      // a fresh program per call (see chunkStage): a reused one would be recompiled every time
      const runner = (name: ChunkStageName, inputs: Tensor[]) => () => {
        const { program, uniforms } = chunkStage(layout, name);
        return runProgram(program, inputs, uniforms);
      };
      // each program's inputs are the earlier programs' outputs, computed once and kept alive for the timings
      const token = runner('token', [t.dt, t.A, t.lambda]);
      const tok = token();
      const prefix = runner('prefix', [t.theta, tok]);
      const pre = prefix();
      const chunkStart = runner('chunkStart', [pre, t.angle]);
      const starts = chunkStart();
      const angle = runner('angle', [pre, starts]);
      const ang = angle();
      const chunkState = runner('chunkState', [t.x, t.B, ang, tok]);
      const local = chunkState();
      const statePass = runner('statePass', [local, ang, tok, t.ssm, t.k, t.v]);
      const states = statePass();
      const chunkOutput = runner('chunkOutput', [t.x, t.B, t.C, ang, tok, states, t.D]);

      log(`mamba3 passes ${shape}`);
      const opts = { lambda: t.lambda, theta: t.theta, D: t.D };
      const whole = await bench('mamba3 chunk', () => {
        const r = mamba3(t.x, t.dt, t.A, t.B, t.C, opts);
        return [r.output, r.finalState.ssm, r.finalState.k, r.finalState.v, r.finalState.angle];
      });
      // the seven programs through the op, without mamba3's validation and unpacking
      const kernel = await bench('mamba3ChunkOp', () => mamba3ChunkOp(t, { rank: 1, chunkSize: 64 }));
      rows.push(compare('mamba3 kernel only', shape, 'whole op', whole, kernel));
      for (const [name, fn] of [
        ['Token', token],
        ['Prefix', prefix],
        ['ChunkStart', chunkStart],
        ['Angle', angle],
        ['ChunkState', chunkState],
        ['StatePass', statePass],
        ['ChunkOutput', chunkOutput],
      ] as const) {
        rows.push(compare(`mamba3 ${name}`, shape, 'whole op', whole, await bench(name, fn)));
      }
      tf.dispose([...(Object.values(t) as Tensor[]), tok, pre, starts, ang, local, states]);
    }
    return rows;
  },
});
