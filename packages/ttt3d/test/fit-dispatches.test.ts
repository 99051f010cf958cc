import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { orbitCameras } from '../src/camera/index.js';
import { FieldAdam } from '../src/fit/adam.js';
import { fitGaussians } from '../src/fit/index.js';
import { photometricLoss } from '../src/fit/loss.js';
import { Gaussians } from '../src/gaussians/index.js';
import { rasterize } from '../src/rasterize/index.js';

/** The parts of tfjs' WebGPU backend the counter wraps. */
interface WebGPUBackendInternals {
  runWebGPUProgram(program: object, ...rest: unknown[]): unknown;
  uploadToGPU(dataId: object): void;
  tensorMap: { get(dataId: object): { resource: unknown; values: unknown } };
}

/** Programs dispatched (by class name) and host-valued tensors uploaded so far. */
interface Dispatches {
  programs: string[];
  uploads: number;
}

/**
 * What the GPU is asked to do while `fn` runs: the WGSL programs dispatched and the host-valued tensors
 * uploaded (a tfjs op given a JS number uploads it as a scalar tensor, each a write to the GPU queue). `fn` may
 * read and reset the live counts it is given.
 */
async function countDispatches(fn: (live: Dispatches) => Promise<void> | void): Promise<Dispatches> {
  const backend = tf.backend() as unknown as WebGPUBackendInternals;
  const run = backend.runWebGPUProgram;
  const upload = backend.uploadToGPU;
  const live: Dispatches = { programs: [], uploads: 0 };
  backend.runWebGPUProgram = function (program, ...rest) {
    live.programs.push(program.constructor.name);
    return run.call(this, program, ...rest);
  };
  backend.uploadToGPU = function (dataId) {
    const data = this.tensorMap.get(dataId);
    if (data.resource == null && data.values != null) live.uploads++;
    upload.call(this, dataId);
  };
  try {
    await fn(live);
  } finally {
    backend.runWebGPUProgram = run;
    backend.uploadToGPU = upload;
  }
  return live;
}

describeBackends(
  'fit dispatches',
  () => {
    it('runs the loss forward in 3 programs and its backward in 4 (L1 alone: 2 and 1), uploading nothing', async () => {
      const render = philoxUniform([8, 9, 3], { seed: 1 });
      const target = philoxUniform([8, 9, 3], { seed: 2 });
      const dy = tf.fill([], 1);
      for (const [weights, expected] of [
        [
          { l1: 0.8, dssim: 0.2 },
          [
            'SsimStatsProgram',
            'LossTermsProgram',
            'LossSumProgram',
            'SsimStatsProgram',
            'SsimMapsProgram',
            'BlurColumnsProgram',
            'LossGradProgram',
          ],
        ],
        [{ l1: 1, dssim: 0 }, ['LossTermsProgram', 'LossSumProgram', 'LossGradProgram']],
      ] as const) {
        const { programs, uploads } = await countDispatches(() => {
          tf.dispose(tf.grads((r: Tensor) => photometricLoss(r, target, weights))([render], dy));
        });
        expect(programs).toEqual(expected);
        expect(uploads).toBe(0);
      }
      tf.dispose([render, target, dy]);
    });

    it('runs one Adam step of a field in 2 programs, uploading nothing', async () => {
      const v = tf.variable(philoxUniform([10, 3], { seed: 3 }));
      const g = philoxUniform([10, 3], { seed: 4 });
      const opt = new FieldAdam(0.1);
      opt.applyGradient(v, g);
      const { programs, uploads } = await countDispatches(() => opt.applyGradient(v, g));
      expect(programs).toEqual(['AdamParamProgram', 'AdamMomentsProgram']);
      expect(uploads).toBe(0);
      opt.dispose();
      tf.dispose([v, g]);
    });

    it('adds at most 16 programs and no uploads to a bare rasterise forward + backward per fit step', async () => {
      const size = 32;
      const cameras = orbitCameras(2, { radius: 3, elevation: 0.3, fov: 0.8, size });
      const views = cameras.map((_, i) => philoxUniform([size, size, 3], { seed: 11, offset: i * size * size * 3 }));
      const init = { count: 16, bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, seed: 5 };
      const { gaussians } = await fitGaussians(views, cameras, { steps: 0, init, shDegree: 0 });
      // the third step of a fit (5 fields at SH degree 0: render, 3DGS loss, backward, Adam, loss read-back; the
      // first also creates the Adam moments): onStep(k) comes once step k + 1 is queued, so what is dispatched
      // between onStep(1) and onStep(2) is step 3
      let step2: Dispatches | undefined;
      await countDispatches(async (live) => {
        const { gaussians: fitted } = await fitGaussians(views, cameras, {
          steps: 3,
          init: { points: gaussians },
          densify: false,
          onStep: ({ step }) => {
            if (step === 2) step2 = { programs: [...live.programs], uploads: live.uploads };
            live.programs.length = 0;
            live.uploads = 0;
          },
        });
        fitted.dispose();
      });
      const fit = step2!;
      // the floor: a bare rasteriser forward + backward of an L1 loss (tfjs ops) on the same Gaussians
      const g = new Gaussians({
        means: tf.variable(gaussians.means),
        logScales: tf.variable(gaussians.logScales),
        quaternions: tf.variable(gaussians.quaternions),
        opacityLogits: tf.variable(gaussians.opacityLogits),
        sh: tf.variable(gaussians.sh),
      });
      const bare = await countDispatches(() => {
        const { grads, value } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(rasterize(g, cameras[0]!).image, views[0]!))) as tf.Scalar);
        tf.dispose([value, ...Object.values(grads)]);
      });
      // 33 programs and 3 uploads per step, against the bare pass' 23 and 6 (40 and 30 while tfjs ops split the packed
      // render, 44 and 34 while the backward binned the Gaussians again); before the fused loss and Adam (tfjs
      // composites, tf.train.adam) 241 and 58
      expect(fit.programs.length - bare.programs.length).toBeLessThanOrEqual(16);
      expect([fit.programs.length, bare.programs.length]).toEqual([33, 23]);
      expect(fit.uploads).toBeLessThanOrEqual(bare.uploads);
      g.dispose();
      gaussians.dispose();
      tf.dispose(views);
    });
  },
  { backends: ['webgpu'] },
);
