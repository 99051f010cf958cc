import { tf } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { pluckerRaysBatch } from '../src/camera/index.js';
import { disposeSample, makeSample } from '../scripts/data.js';
import { score } from '../scripts/eval.js';
import { pixelAlignedGaussians } from '../scripts/pixel-oracle.js';
import { rayDepthLoss } from '../scripts/train-loop.js';

const OPTIONS = { size: 16, inputViews: 6, targetViews: 1, sceneGaussians: 400, background: [1, 1, 1] as [number, number, number] };

describeBackends(
  'pixel-aligned depth targets',
  () => {
    it('places Gaussians at the ground-truth ray depths: a held-out view is better rendered than from depths 20 % off', async () => {
      const s = makeSample(5, 0, OPTIONS);
      const at = async (scale: number): Promise<number> => {
        const depths = tf.mul(s.inputRayDepths, scale);
        const g = await pixelAlignedGaussians(s.inputs, depths, s.inputCameras, 4);
        const { psnr } = await score(g, s.targetCameras, s.targets);
        tf.dispose(depths);
        g.dispose();
        return psnr;
      };
      const exact = await at(1);
      expect(exact).toBeGreaterThan(15);
      expect(exact).toBeGreaterThan((await at(1.2)) + 2);
      disposeSample(s);
    });

    it('rayDepthLoss reads the model order (view, patch row, patch column, pixel row, pixel column): 0 at the targets, the offset along the rays', async () => {
      const s = makeSample(5, 1, { ...OPTIONS, size: 16 });
      const p = 8;
      const [v, h, w] = s.inputRayDepths.shape as [number, number, number];
      await expectNoLeaks(async () => {
        const losses = tf.tidy(() => {
          // Gaussians on the rays at the target distances (+ 0.1 where there is a surface), permuted into the model's order
          const rays = pluckerRaysBatch(s.inputCameras, { form: 9 });
          const origin = tf.slice(rays, [0, 0, 0, 0], [-1, -1, -1, 3]);
          const dir = tf.slice(rays, [0, 0, 0, 3], [-1, -1, -1, 3]);
          const at = (extra: number) => {
            const t = tf.add(s.inputRayDepths, tf.mul(tf.cast(tf.greater(s.inputRayDepths, 0), 'float32'), extra));
            const points = tf.add(origin, tf.mul(dir, tf.expandDims(t, 3)));
            return tf.reshape(tf.transpose(tf.reshape(points, [v, h / p, p, w / p, p, 3]), [0, 1, 3, 2, 4, 5]), [-1, 3]);
          };
          return tf.stack([
            rayDepthLoss(at(0), s.inputCameras, s.inputRayDepths, p),
            rayDepthLoss(at(0.1), s.inputCameras, s.inputRayDepths, p),
          ]);
        });
        const [zero, offset] = Array.from(await losses.data());
        losses.dispose();
        expect(zero).toBeLessThan(1e-5);
        expect(offset).toBeCloseTo(0.1, 5);
      });
      disposeSample(s);
    });
  },
  { backends: ['cpu'] },
);
