import { logSoftmax, philoxUniform, scalarUniforms, softmax, splitRowChunk, tf, webgpuSubgroups } from '@tessera/tensor-core';
import { bench, compare, defineBench, runProgram, type BenchRow } from '@tessera/tensor-core/bench';
import { NormalizeProgram } from '../src/softmax/normalize.program.js';
import { RowStatsProgram } from '../src/softmax/row-stats.program.js';

/**
 * softmax's two WebGPU passes over `x: [rows, cols]` as its kernel runs them, with the subgroup or the
 * portable tree reduction (fresh program objects each call: tfjs appends the input shapes to `shaderKey`).
 */
function softmaxPasses(x: tf.Tensor, subgroups: boolean): () => tf.Tensor {
  const [rows, cols] = x.shape as [number, number];
  const chunk = splitRowChunk(rows, cols);
  const chunks = Math.ceil(cols / chunk);
  const uniforms = [...scalarUniforms('int32', [cols, chunk, chunks]), ...scalarUniforms('float32', [1])];
  return () => {
    const stats = runProgram(new RowStatsProgram(rows, chunks, subgroups), [x], uniforms);
    const out = runProgram(new NormalizeProgram(rows, cols, chunks, false, subgroups), [x, stats], uniforms);
    stats.dispose();
    return out;
  };
}

/**
 * Row-wise softmax and log-softmax against tfjs' own kernels, on the logits shapes of decoding; on WebGPU
 * with subgroups, also softmax's passes with the subgroup reduction against the portable tree on the same
 * adapter (the kernel takes the subgroup one; TESSERA_WEBGPU_SUBGROUPS=0 turns it off).
 */
export default defineBench({
  name: 'softmax',
  async run({ backend, size, log }) {
    const subgroups = backend === 'webgpu' && webgpuSubgroups().enabled;
    if (backend === 'webgpu' && !subgroups) log('softmax: no subgroups on this device, so no subgroup rows');
    const shapes: [number, number][] =
      size === 'full'
        ? [
            [1, 131072],
            [64, 131072],
            [256, 131072],
          ]
        : [
            [1, 32768],
            [16, 32768],
          ];
    const rows: BenchRow[] = [];
    for (const [b, v] of shapes) {
      const x = tf.tidy(() => tf.mul(tf.sub(philoxUniform([b, v], { seed: 1 }), 0.5), 20));
      const shape = `${b}x${v}`;
      // the least traffic any softmax needs: read the logits once, write the result once
      const bytes = 2 * 4 * b * v;
      log(`softmax ${shape}`);
      const base = await bench('tf.softmax', () => tf.softmax(x));
      const ours = await bench('softmax', () => softmax(x));
      rows.push(compare('softmax', shape, 'tf.softmax', base, ours, { bytes }));
      const baseLog = await bench('tf.logSoftmax', () => tf.logSoftmax(x));
      const oursLog = await bench('logSoftmax', () => logSoftmax(x));
      rows.push(compare('logSoftmax', shape, 'tf.logSoftmax', baseLog, oursLog, { bytes }));
      if (subgroups) {
        const tree = await bench('softmax passes, tree reduction', softmaxPasses(x, false));
        const sg = await bench('softmax passes, subgroup reduction', softmaxPasses(x, true));
        rows.push(compare('softmax (subgroup reduction)', shape, 'tree reduction', tree, sg, { bytes }));
      }
      x.dispose();
    }
    return rows;
  },
});
