import { tf } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { Camera, pluckerRaysBatch } from '../src/camera/index.js';
import { Gaussians } from '../src/gaussians/index.js';
import { rasterize } from '../src/rasterize/index.js';
import { disposeSample, makeSample } from '../scripts/data.js';
import { score } from '../scripts/eval.js';
import { discGaussian, pixelAlignedGaussians, surfaceNormals, surfacePoints } from '../scripts/pixel-oracle.js';
import { rayDepthLoss } from '../scripts/train-loop.js';

/** A unit normal that is no coordinate axis, so a quaternion's conjugate or a (w, x, y, z) mix-up moves it. */
const TILTED = ((n: number[]) => n.map((c) => c / Math.hypot(...n)))([1, 2, 3]) as [number, number, number];

/** A 32² camera at `eye` looking at the origin, fov 0.8 as the training cameras. */
const cameraAt = (eye: number[], up = [0, 1, 0]): Camera => Camera.fromLookAt(eye, [0, 0, 0], up, { fovY: 0.8, width: 32, height: 32 });

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

    it('surfaceNormals recovers a tilted plane from its ray depths, up to sign', () => {
      const cam = cameraAt([0.4, -0.3, 2]);
      const [w, h] = [12, 10];
      const eye = cam.center();
      // ray length to the plane TILTED·X = 0.1 through each pixel centre; the left column has no surface
      const t = new Float32Array(h * w);
      for (let y = 0; y < h; y++) {
        for (let x = 1; x < w; x++) {
          const p = cam.unproject(x + 0.5, y + 0.5, 1);
          const d = [p[0] - eye[0], p[1] - eye[1], p[2] - eye[2]];
          const dot = (a: number[]) => a[0]! * TILTED[0] + a[1]! * TILTED[1] + a[2]! * TILTED[2];
          t[y * w + x] = ((0.1 - dot(eye)) / dot(d)) * Math.hypot(...d);
        }
      }
      const normals = surfaceNormals(t, [1, h, w], surfacePoints(t, [1, h, w], [new Camera({ ...cam.toJSON(), width: w, height: h })]));
      expect(Number.isNaN(normals[0])).toBe(true);
      for (let i = 0; i < h * w; i++) {
        if (i % w === 0) continue;
        const n = Array.from(normals.subarray(3 * i, 3 * i + 3));
        const alignment = Math.abs(n[0]! * TILTED[0] + n[1]! * TILTED[1] + n[2]! * TILTED[2]);
        expect(alignment).toBeGreaterThan(1 - 1e-4);
      }
    });

    it('discGaussian lies in the tangent plane as the rasteriser draws it: wide seen along the normal, thin edge-on', async () => {
      // the disc of the centre pixel of a camera 50° off the normal, made 8 pixels wide so that its shape shows
      const input = cameraAt([2 * TILTED[0] + 1.5, 2 * TILTED[1], 2 * TILTED[2] - 0.5]);
      const z = input.worldToCameraPoint([0, 0, 0])[2];
      const centre = input.unproject(16, 16, z);
      const disc = discGaussian(input, 15.5, 15.5, z, TILTED, 16);
      expect(Math.hypot(...centre)).toBeLessThan(1e-5);
      const alphaSum = async (eye: number[]): Promise<number> => {
        const g = new Gaussians({
          means: tf.tensor2d([[0, 0, 0]]),
          logScales: tf.tensor2d([disc.logScales]),
          quaternions: tf.tensor2d([disc.quaternion]),
          opacityLogits: tf.tensor1d([-1]),
          sh: tf.zeros([1, 1, 3]),
        });
        const r = rasterize(g, cameraAt(eye, [1, 0, 0]), { background: [1, 1, 1] });
        const sum = (await tf.sum(r.alpha).data())[0]!;
        tf.dispose([r.image, r.depth, r.alpha]);
        g.dispose();
        return sum;
      };
      // an in-plane direction: TILTED × x̂
      const inPlane = [0, TILTED[2], -TILTED[1]].map((c) => c / Math.hypot(TILTED[1], TILTED[2]));
      const faceOn = await alphaSum(TILTED.map((c) => 2 * c));
      const edgeOn = await alphaSum(inPlane.map((c) => 2 * c));
      expect(faceOn).toBeGreaterThan(8 * edgeOn);
    });
  },
  { backends: ['cpu'] },
);
