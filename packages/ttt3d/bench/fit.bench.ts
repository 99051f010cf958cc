import { philoxUniform, type Tensor, tf, type Variable } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench, kernelProfile } from '@tessera/tensor-core/bench';
import { type Camera, orbitCameras } from '../src/camera/index.js';
import { FieldAdam } from '../src/fit/adam.js';
import { fitGaussians } from '../src/fit/index.js';
import { photometricLoss } from '../src/fit/loss.js';
import { photometricLossReference } from '../src/fit/photometric-loss/reference.js';
import { Gaussians } from '../src/gaussians/index.js';
import { rasterize } from '../src/rasterize/index.js';

const STEPS = 10;
const WEIGHTS = { l1: 0.8, dssim: 0.2 };

/** Trainable copies of `g`'s fields, in `Gaussians`' order, and the Gaussians they make. */
function trainable(g: Gaussians): { vars: Variable[]; gaussians: Gaussians } {
  const t = g.toTensors();
  const vars = [t.means, t.logScales, t.quaternions, t.opacityLogits, t.sh].map((x) => tf.variable(x));
  const [means, logScales, quaternions, opacityLogits, sh] = vars as [Variable, Variable, Variable, Variable, Variable];
  return { vars, gaussians: new Gaussians({ means, logScales, quaternions, opacityLogits, sh }) };
}

/**
 * One fit step without the loss read-back, as `fitGaussians` runs it (render, fused 3DGS loss, backward, one fused
 * Adam update per field), synchronous so `kernelProfile` can split it by kernel and by WGSL program.
 */
function fitStep(g: Gaussians, vars: Variable[], optimizers: FieldAdam[], camera: Camera, target: Tensor): Tensor {
  const { value, grads } = tf.variableGrads(() => photometricLoss(rasterize(g, camera).image, target, WEIGHTS) as tf.Scalar, vars);
  vars.forEach((v, i) => {
    const d = grads[v.name];
    if (d) optimizers[i]!.applyGradient(v, d);
  });
  tf.dispose(Object.values(grads));
  return value;
}

/**
 * Per-scene optimisation throughput: `STEPS` steps of `fitGaussians` (render, 3DGS loss, backward, one Adam
 * update per field, densification statistics, one loss read-back per step, overlapped with the next step) against the same number of bare rasteriser
 * forward + backward passes of an L1 loss on the same Gaussians — the floor a fit step cannot beat, so the
 * ratio is the share of a step spent in the rasteriser. Then the two parts a step adds to that floor, each against
 * what it replaced: the fused loss forward + backward against the tfjs composite's, and the fused Adam update of the
 * 5 fields against `tf.train.adam`'s. On a full (GPU) run, one step is also profiled by kernel and by WGSL program.
 */
export default defineBench({
  name: 'fit',
  async run({ size, log }) {
    const full = size === 'full';
    const cases: [number, number][] = full
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
          const { vars, gaussians: g } = trainable(start.gaussians);
          for (let s = 0; s < STEPS; s++) {
            const target = views[s % views.length]!;
            const camera = cameras[s % cameras.length]!;
            const { grads, value } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(rasterize(g, camera).image, target))) as tf.Scalar);
            tf.dispose([value, ...Object.values(grads)]);
          }
          return vars;
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

      // the loss forward + backward w.r.t. the render, on a render-sized image
      const render = views[1]!;
      const target = views[0]!;
      const lossGrad = (loss: (r: Tensor) => Tensor) => () => {
        const dy = tf.fill([], 1);
        const [d] = tf.grads(loss)([render], dy);
        dy.dispose();
        return d!;
      };
      const lossOpts = { warmup: 2, warmupMs: 0, rounds: 5 };
      const composite = await bench(
        'composite',
        lossGrad((r) => photometricLossReference({ render: r, target }, WEIGHTS)),
        lossOpts,
      );
      const fused = await bench(
        'fused',
        lossGrad((r) => photometricLoss(r, target, WEIGHTS)),
        lossOpts,
      );
      rows.push(compare('3DGS loss fwd+bwd (fused vs tfjs composite)', `${px}x${px}`, 'tfjs composite', composite, fused));

      // one Adam step of the 5 fields
      const { vars, gaussians: g } = trainable(start.gaussians);
      const grads = vars.map((v, i) => philoxUniform(v.shape, { seed: 40 + i, low: -1, high: 1 }));
      const fieldAdams = vars.map(() => new FieldAdam(1e-3));
      const tfjsAdams = vars.map(() => tf.train.adam(1e-3, 0.9, 0.999, 1e-15));
      const adamOpts = { warmup: 3, warmupMs: 0, rounds: 5 };
      const tfjsAdam = await bench(
        'tf.train.adam',
        () => {
          vars.forEach((v, i) => {
            tfjsAdams[i]!.applyGradients([{ name: v.name, tensor: grads[i]! }]);
          });
          // not the variables, which bench would dispose; its sync waits on the device queue, not on a tensor
          return [];
        },
        adamOpts,
      );
      const fusedAdam = await bench(
        'FieldAdam',
        () => {
          vars.forEach((v, i) => {
            fieldAdams[i]!.applyGradient(v, grads[i]!);
          });
          // not the variables, which bench would dispose; its sync waits on the device queue, not on a tensor
          return [];
        },
        adamOpts,
      );
      rows.push(compare('Adam step, 5 fields (fused vs tf.train.adam)', `N=${n}`, 'tf.train.adam', tfjsAdam, fusedAdam));

      if (full && px === 256) {
        const step = () => fitStep(g, vars, fieldAdams, cameras[0]!, target);
        rows.push(...(await kernelProfile('fit step by kernel', shape, step, { top: 12 })));
        rows.push(...(await kernelProfile('fit step by program', shape, step, { by: 'program', top: 15 })));
      }
      for (const opt of [...fieldAdams, ...tfjsAdams]) opt.dispose();
      tf.dispose([...vars, ...grads]);
      start.gaussians.dispose();
      tf.dispose(views);
    }
    return rows;
  },
});
