import { philoxUniform, scalarUniforms, tf } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench, runProgram } from '@tessera/tensor-core/bench';
import { deltaRule } from '../src/delta-rule/index.js';
import { DeltaRuleOutputProgram } from '../src/delta-rule/output.program.js';
import { DeltaRulePrepareProgram } from '../src/delta-rule/prepare.program.js';
import { DeltaRuleStateProgram } from '../src/delta-rule/state.program.js';
import { type ChunkTile, chunkTile, stateFloats } from '../src/delta-rule/tile.js';

/**
 * Where the WGSL chunked delta rule spends its time: each of its passes (prepare, sequential state,
 * output) timed alone on the shapes of the main suite, beside the whole op, and the state pass with
 * `chunkTile`'s tile against a slice twice as wide, against sums unsplit (one thread per output) and against wider
 * slices on larger workgroups. WebGPU only.
 */
export default defineBench({
  name: 'delta-rule-passes',
  async run({ size, log }) {
    if (tf.getBackend() !== 'webgpu') {
      log('delta-rule-passes: WebGPU only (it times single WGSL programs)');
      return [];
    }
    const [heads, dk, dv] = size === 'full' ? [8, 64, 64] : [2, 32, 32];
    const lengths = size === 'full' ? [4096, 16384] : [256];
    const rows: BenchRow[] = [];
    for (const l of lengths) {
      const shape = `1x${heads}x${l}x${dk}x${dv}`;
      const q = philoxUniform([1, heads, l, dk], { seed: 1, low: -1, high: 1 });
      const k = tf.tidy(() => {
        const raw = philoxUniform([1, heads, l, dk], { seed: 2, low: -1, high: 1 });
        return tf.div(raw, tf.norm(raw, 'euclidean', -1, true));
      });
      const v = philoxUniform([1, heads, l, dv], { seed: 3, low: -1, high: 1 });
      const beta = philoxUniform([1, heads, l], { seed: 4, low: 0.1, high: 0.9 });
      const state = tf.zeros([1, heads, dk, dv]);
      const tile = chunkTile(heads, dk, dv, 64, l);
      // a fresh program per call: a reused one would be recompiled every time (see runProgram)
      const prepare = () =>
        runProgram(
          new DeltaRulePrepareProgram(heads, l, dk, dv, tile, false),
          [k, v, beta],
          scalarUniforms('int32', DeltaRulePrepareProgram.uniformValues(l, dk, dv, tile)),
        );
      const wu = prepare();
      const statePass = () =>
        runProgram(
          new DeltaRuleStateProgram(heads, l, dk, dv, tile, false),
          [wu, k, state],
          scalarUniforms('int32', DeltaRuleStateProgram.uniformValues(l, dv, tile)),
        );
      const sv = statePass();
      const output = () =>
        runProgram(
          new DeltaRuleOutputProgram(1, heads, l, dv, tile, false),
          [q, k, sv],
          [
            ...scalarUniforms('int32', DeltaRuleOutputProgram.uniformValues(l, dk, dv, tile)),
            ...scalarUniforms('float32', [1 / Math.sqrt(dk)]),
          ],
        );
      log(`delta-rule passes ${shape} (C=${tile.chunk}, slice=${tile.slice})`);
      const whole = await bench('deltaRule', () => deltaRule(q, k, v, beta));
      for (const [name, fn] of [
        ['prepare pass', prepare],
        ['state pass', statePass],
        ['output pass', output],
      ] as const) {
        rows.push(compare(`deltaRule ${name}`, shape, 'whole op', whole, await bench(name, fn)));
      }
      // the sequential state pass is the critical path at long L: chunkTile's tile against twice as wide a slice
      // (half the workgroups walking the chunks side by side; chunkTile aims at 128 of them), against the
      // 128-thread program whose threads each sum a whole output (split 1), and against wider slices on larger
      // workgroups (every slice re-loads each chunk's Wᵀ and K blocks, so 2× and 4× the columns a workgroup load
      // them 2× and 4× fewer times in all, with as many threads per output) where the device allows them
      const statePassWith = (t: ChunkTile) => () =>
        runProgram(
          new DeltaRuleStateProgram(heads, l, dk, dv, t, false),
          [wu, k, state],
          scalarUniforms('int32', DeltaRuleStateProgram.uniformValues(l, dv, t)),
        );
      const current = await bench('state pass', statePass);
      const variants: [string, ChunkTile][] = [];
      if (tile.slice < 16) variants.push([`slice ${tile.slice * 2}`, { ...tile, slice: tile.slice * 2 }]);
      if (tile.split > 1) variants.push(['split 1', { ...tile, split: 1, threads: 128 }]);
      const limits = (tf.backend() as unknown as { device: GPUDevice }).device.limits;
      for (const widen of [2, 4]) {
        const wide = { ...tile, slice: tile.slice * widen, threads: tile.threads * widen };
        if (
          wide.slice <= 16 &&
          wide.threads <= limits.maxComputeInvocationsPerWorkgroup &&
          4 * stateFloats(wide, dk) <= limits.maxComputeWorkgroupStorageSize
        ) {
          variants.push([`slice ${wide.slice} on ${wide.threads} threads`, wide]);
        }
      }
      for (const [name, t] of variants) {
        const other = await bench(`state pass, ${name}`, statePassWith(t));
        rows.push(compare(`deltaRule state pass, slice ${tile.slice} on ${tile.threads} threads`, shape, name, other, current));
      }
      tf.dispose([q, k, v, beta, state, wu, sv]);
    }
    return rows;
  },
});
