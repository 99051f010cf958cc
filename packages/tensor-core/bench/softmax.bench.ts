import { logSoftmax, philoxUniform, softmax, tf } from '@tessera/tensor-core';
import { bench, compare, defineBench, type BenchRow } from '@tessera/tensor-core/bench';

/** Row-wise softmax and log-softmax against tfjs' own kernels, on the logits shapes of decoding. */
export default defineBench({
  name: 'softmax',
  async run({ size, log }) {
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
      x.dispose();
    }
    return rows;
  },
});
