import { expect, it } from 'vitest';
import { philoxUniform, type Tensor, type TensorInfo, tf } from '@tessera/tensor-core';
import { runKernel } from '@tessera/tensor-core/bench';
import { describeBackends } from '@tessera/tensor-core/testing';
import { Camera } from '../src/camera/index.js';
import { GAUSSIAN_BACKWARD_ROWS, GaussianBackwardProgram, stagedIntersections } from '../src/rasterize/gaussian-backward.program.js';
import { rasterizeBackwardWebGPU } from '../src/rasterize/kernel.js';
import { rasterizeOp } from '../src/rasterize/op.js';
import { rasterAttrs } from '../src/rasterize/raster-attrs.js';
import { randomGaussians } from './cases.js';
import { PerThreadGaussianBackwardProgram } from './gaussian-backward-per-thread.js';

/**
 * The WebGPU backward of a seeded scene, and the per-thread program's gradient of the same partials: the backward's
 * run of GaussianBackwardProgram is repeated with the oracle on the same inputs and uniforms.
 */
function bothBackwards(n: number, degree: number, capacity: number) {
  // 301 Gaussians (4 full workgroups and one of 45), some behind the camera (culled: zero rows), some large (many
  // tiles each, so a workgroup's list outgrows a staged chunk)
  const g = randomGaussians({ count: n, shDegree: degree, seed: 41, extent: 2.2, logScaleMin: -2.6, logScaleMax: -0.6 });
  const cam = Camera.fromLookAt([0.3, -0.2, -2.4], [0, 0, 0], [0, -1, 0], { fovY: 1.0, width: 96, height: 80 });
  const attrs = rasterAttrs(cam, 96, 80, degree, capacity);
  const inputs = g.toTensors();
  const [rendered, pre, order, keys] = rasterizeOp(inputs, attrs) as [Tensor, Tensor, Tensor, Tensor];
  const dy = philoxUniform([80, 96, 5], { seed: 42, low: -1, high: 1 });
  const [staged, perThread] = runKernel(
    (ctx) => {
      let oracle: TensorInfo | undefined;
      const grads = rasterizeBackwardWebGPU({
        ...ctx,
        run: (program, programInputs, dtype, uniforms) => {
          const out = ctx.run(program, programInputs, dtype, uniforms);
          if (program instanceof GaussianBackwardProgram) {
            oracle = ctx.run(new PerThreadGaussianBackwardProgram(n, (degree + 1) ** 2), programInputs, dtype, uniforms);
          }
          return out;
        },
      });
      if (oracle === undefined) throw new Error('the backward ran no GaussianBackwardProgram');
      return [grads, oracle];
    },
    { ...inputs, rendered, dy, pre, order, keys },
    attrs,
  ) as [Tensor, Tensor];
  const dispose = (): void => {
    tf.dispose([staged, perThread, rendered, pre, order, keys, dy]);
    g.dispose();
  };
  return { staged, perThread, order, dispose };
}

/** The float32 bits of a tensor, so that NaN rows and signed zeros compare too. */
async function bits(t: Tensor): Promise<Uint32Array> {
  const data = (await t.data()) as Float32Array;
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}

describeBackends(
  'rasterize backward per Gaussian',
  () => {
    it('writes the per-thread program’s gradients bit for bit (N not a multiple of the workgroup, SH degree 0 and 3)', async () => {
      const n = 301;
      expect(n % GAUSSIAN_BACKWARD_ROWS).not.toBe(0);
      for (const degree of [0, 3]) {
        const s = bothBackwards(n, degree, 65536);
        const order = (await s.order.data()) as Int32Array;
        const counts = Array.from({ length: n }, (_, r) => (order[r + 1] as number) - (order[r] as number));
        // the scene covers what the staging must get right: culled rows, and workgroups whose list spans chunks
        expect(counts.filter((c) => c === 0).length).toBeGreaterThan(0);
        let widest = 0;
        for (let first = 0; first < n; first += GAUSSIAN_BACKWARD_ROWS) {
          const end = Math.min(first + GAUSSIAN_BACKWARD_ROWS, n);
          widest = Math.max(widest, (order[end] as number) - (order[first] as number));
        }
        expect(widest).toBeGreaterThan(2 * stagedIntersections((degree + 1) ** 2));
        const grads = await bits(s.staged);
        expect(grads.some((b) => b !== 0)).toBe(true);
        expect(grads).toEqual(await bits(s.perThread));
        s.dispose();
      }
    });

    it('fills every row with NaN as the per-thread program does when the intersection list overflowed', async () => {
      const s = bothBackwards(301, 3, 200);
      const grads = await bits(s.staged);
      expect(Array.from(await s.staged.data()).every(Number.isNaN)).toBe(true);
      expect(grads).toEqual(await bits(s.perThread));
      s.dispose();
    });
  },
  { backends: ['webgpu'] },
);
