import { philoxUniform, scalarUniforms, type Tensor, type TensorInfo, tf, type WebGPUProgram } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench } from '@tessera/tensor-core/bench';
import { deltaRule } from '../src/delta-rule/index.js';
import { DeltaRuleOutputProgram } from '../src/delta-rule/output.program.js';
import { DeltaRulePrepareProgram } from '../src/delta-rule/prepare.program.js';
import { DeltaRuleStateProgram } from '../src/delta-rule/state.program.js';
import { chunkTile } from '../src/delta-rule/tile.js';

interface ProgramBackend {
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: TensorInfo[],
    dtype: 'float32',
    uniforms?: ReturnType<typeof scalarUniforms>,
  ): TensorInfo;
}

function uniform(shape: number[], seed: number, lo: number, hi: number): Tensor {
  return tf.tidy(() => tf.add(tf.mul(philoxUniform(shape, { seed }), hi - lo), lo));
}

/**
 * Where the WGSL chunked delta rule spends its time: each of its passes (prepare, sequential state,
 * output) timed alone on the shapes of the main suite, beside the whole op. WebGPU only.
 */
export default defineBench({
  name: 'delta-rule-passes',
  async run({ size, log }) {
    if (tf.getBackend() !== 'webgpu') {
      log('delta-rule-passes: WebGPU only (it times single WGSL programs)');
      return [];
    }
    const backend = tf.backend() as unknown as ProgramBackend;
    const [heads, dk, dv] = size === 'full' ? [8, 64, 64] : [2, 32, 32];
    const lengths = size === 'full' ? [4096, 16384] : [256];
    const rows: BenchRow[] = [];
    const asTensor = (info: TensorInfo): Tensor => tf.engine().makeTensorFromTensorInfo(info);
    for (const l of lengths) {
      const shape = `1x${heads}x${l}x${dk}x${dv}`;
      const q = uniform([1, heads, l, dk], 1, -1, 1);
      const k = tf.tidy(() => {
        const raw = uniform([1, heads, l, dk], 2, -1, 1);
        return tf.div(raw, tf.norm(raw, 'euclidean', -1, true));
      });
      const v = uniform([1, heads, l, dv], 3, -1, 1);
      const beta = uniform([1, heads, l], 4, 0.1, 0.9);
      const state = tf.zeros([1, heads, dk, dv]);
      const tile = chunkTile(heads, dk, dv, 64, l);
      const chunks = Math.ceil(l / tile.chunk);
      const prepare = () =>
        asTensor(
          backend.runWebGPUProgram(
            new DeltaRulePrepareProgram(heads, l, dk, dv, tile, false),
            [k, v, beta],
            'float32',
            scalarUniforms('int32', DeltaRulePrepareProgram.uniformValues(l, dk, dv, tile)),
          ),
        );
      const wu = prepare();
      const statePass = () =>
        asTensor(
          backend.runWebGPUProgram(
            new DeltaRuleStateProgram(heads, l, dk, dv, tile, false),
            [wu, k, state],
            'float32',
            scalarUniforms('int32', [l, dv, chunks, Math.ceil(dv / tile.slice)]),
          ),
        );
      const sv = statePass();
      const output = () =>
        asTensor(
          backend.runWebGPUProgram(new DeltaRuleOutputProgram(1, heads, l, dv, tile, false), [q, k, sv], 'float32', [
            ...scalarUniforms('int32', DeltaRuleOutputProgram.uniformValues(l, dk, dv, tile)),
            ...scalarUniforms('float32', [1 / Math.sqrt(dk)]),
          ]),
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
      tf.dispose([q, k, v, beta, state, wu, sv]);
    }
    return rows;
  },
});
