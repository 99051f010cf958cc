import { philoxUniform, tf } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench } from '@tessera/tensor-core/bench';
import { orbitCameras } from '../src/camera/index.js';
import { fitGaussians } from '../src/fit/index.js';
import { Gaussians } from '../src/gaussians/index.js';
import { rasterize } from '../src/rasterize/index.js';

const STEPS = 10;

/**
 * Per-scene optimisation throughput: `STEPS` steps of `fitGaussians` (render, 3DGS loss, backward, one Adam
 * update per field, densification statistics, one loss read-back per step) against the same number of bare rasteriser
 * forward + backward passes of an L1 loss on the same Gaussians — the floor a fit step cannot beat, so the
 * ratio is the share of a step spent in the rasteriser.
 */
export default defineBench({
  name: 'fit',
  async run({ size, log }) {
    const cases: [number, number][] =
      size === 'full'
        ? [
            [256, 10_000],
            [512, 100_000],
          ]
        : [
            [32, 16],
            [32, 48],
          ];
    const rows: BenchRow[] = [];
    for (const [px, n] of cases) {
      const shape = `${px}x${px} N=${n}`;
      log(`fit ${shape}`);
      const cameras = orbitCameras(8, { radius: 3, elevation: 0.3, fov: 0.8, size: px });
      const views = cameras.map((_, i) => philoxUniform([px, px, 3], { seed: 11, offset: i * px * px * 3 }));
      const init = { count: n, bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, seed: 5 };
      const start = await fitGaussians(views, cameras, { steps: 0, init, shDegree: 0 });
      const base = await bench(
        `${STEPS}× rasterize fwd+bwd`,
        () => {
          const t = start.gaussians.toTensors();
          const g = new Gaussians({
            means: tf.variable(t.means),
            logScales: tf.variable(t.logScales),
            quaternions: tf.variable(t.quaternions),
            opacityLogits: tf.variable(t.opacityLogits),
            sh: tf.variable(t.sh),
          });
          for (let s = 0; s < STEPS; s++) {
            const target = views[s % views.length]!;
            const camera = cameras[s % cameras.length]!;
            const { grads, value } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(rasterize(g, camera).image, target))) as tf.Scalar);
            tf.dispose([value, ...Object.values(grads)]);
          }
          return g.toTensors();
        },
        { warmup: 1, warmupMs: 0, rounds: 3, iterations: 1 },
      );
      const ours = await bench(
        `fitGaussians ${STEPS} steps`,
        async () =>
          (await fitGaussians(views, cameras, { steps: STEPS, init: { points: start.gaussians }, densify: false })).gaussians.toTensors(),
        { warmup: 1, warmupMs: 0, rounds: 3, iterations: 1 },
      );
      rows.push(compare(`fitGaussians (${STEPS} steps)`, shape, `${STEPS}× rasterize fwd+bwd`, base, ours));
      start.gaussians.dispose();
      tf.dispose(views);
    }
    return rows;
  },
});
