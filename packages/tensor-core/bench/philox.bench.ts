import { philoxUniform, tf } from '@tessera/tensor-core';
import { bench, compare, defineBench, type BenchRow } from '@tessera/tensor-core/bench';

/** Counter-based uniforms against tfjs' own seeded `tf.randomUniform`. */
export default defineBench({
  name: 'philox',
  async run({ size, log }) {
    const shapes: [number, number][] =
      size === 'full'
        ? [
            [1, 131072],
            [64, 131072],
          ]
        : [[16, 32768]];
    const rows: BenchRow[] = [];
    for (const [b, v] of shapes) {
      const shape = `${b}x${v}`;
      log(`philoxUniform ${shape}`);
      let offset = 0;
      const base = await bench('tf.randomUniform', () => tf.randomUniform([b, v], 0, 1, 'float32', 7));
      const ours = await bench('philoxUniform', () => {
        offset += b * v;
        return philoxUniform([b, v], { seed: 7, offset });
      });
      rows.push(compare('philoxUniform', shape, 'tf.randomUniform', base, ours, { bytes: 4 * b * v }));
    }
    return rows;
  },
});
