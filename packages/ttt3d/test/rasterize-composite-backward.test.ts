import { expect, it } from 'vitest';
import { philoxUniform, type Tensor, tf, webgpuSubgroups } from '@tessera/tensor-core';
import { runKernel } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose } from '@tessera/tensor-core/testing';
import { Camera } from '../src/camera/index.js';
import { subgroupReduction } from '../src/rasterize/composite-backward.program.js';
import { rasterizeBackwardWith } from '../src/rasterize/kernel.js';
import { rasterizeOp } from '../src/rasterize/op.js';
import { rasterAttrs } from '../src/rasterize/raster-attrs.js';
import { randomGaussians } from './cases.js';

it('sizes the subgroup reduction groups to the tree buffers for the smallest subgroup size', () => {
  // one barrier per group: 32 Gaussians a barrier on an H100 (subgroups of 32), 8 on lavapipe (8), 4 at WGSL's minimum
  expect(subgroupReduction(32)).toEqual({ maxSubgroups: 8, group: 32 });
  expect(subgroupReduction(8)).toEqual({ maxSubgroups: 32, group: 8 });
  expect(subgroupReduction(4)).toEqual({ maxSubgroups: 64, group: 4 });
  expect(subgroupReduction(0)).toEqual({ maxSubgroups: 64, group: 4 });
  expect(subgroupReduction(128)).toEqual({ maxSubgroups: 2, group: 128 });
});

describeBackends(
  'rasterize backward compositing',
  () => {
    // 56×40 is 4×3 tiles, the last column and row partly outside the image; 300 overlapping Gaussians, most nearly
    // opaque, so that tiles hold more than a batch (128) of entries, groups end mid-batch, and pixels stop early
    it('sums the pixels per subgroup as the portable tree does, up to the order of the additions', async () => {
      const { enabled, minSize } = webgpuSubgroups();
      // lavapipe and the H100 have subgroups; on a device without them only the tree can run
      if (!enabled) return;
      const g = randomGaussians({ count: 300, shDegree: 1, seed: 21, extent: 1, logScaleMin: -2.6, logScaleMax: -1.6 });
      const opacityLogits = philoxUniform([300], { seed: 22, low: -1, high: 6 });
      const cam = Camera.fromLookAt([0.2, -0.1, -4], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 56, height: 40 });
      const attrs = rasterAttrs(cam, 56, 40, 1, 65536);
      const inputs = { ...g.toTensors(), opacityLogits };
      const [rendered, pre, order, keys] = rasterizeOp(inputs, attrs) as [Tensor, Tensor, Tensor, Tensor];
      // early-stopping pixels: the transmittance fell to the 1e-4 floor
      const trans = tf.slice(rendered, [0, 0, 4], [-1, -1, 1]);
      expect((await tf.min(trans).data())[0]).toBeLessThan(1e-3);
      const dy = philoxUniform([40, 56, 5], { seed: 23, low: -1, high: 1 });
      const backward = (variant: { enabled: boolean; minSize: number }): Tensor => {
        // tfjs hands a freed buffer of the same size to the next output: make the partials' buffer start as NaN, so
        // an entry the compositing fails to write shows (instead of the previous run's value)
        tf.dispose(tf.fill([attrs.capacity, 10], Number.NaN));
        return runKernel((ctx) => rasterizeBackwardWith(ctx, variant), { ...inputs, rendered, dy, pre, order, keys }, attrs);
      };
      const tree = backward({ enabled: false, minSize: 0 });
      const scale = (await tf.max(tf.abs(tree)).data())[0] as number;
      expect(scale).toBeGreaterThan(0);
      // the device's own size, and sized for subgroups of 4 (more slots and groups than the device fills)
      for (const size of new Set([minSize, 4])) {
        const sub = backward({ enabled: true, minSize: size });
        await expectAllClose(sub, tree, { atol: 1e-5 * scale, rtol: 1e-4, message: `subgroups ≥ ${size}` });
        // the slots are summed in a fixed order: the same bits on every run
        const again = backward({ enabled: true, minSize: size });
        await expectAllClose(again, sub, { atol: 0, rtol: 0, message: `subgroups ≥ ${size}, run twice` });
        tf.dispose([sub, again]);
      }
      tf.dispose([tree, rendered, pre, order, keys, trans, dy, opacityLogits]);
      g.dispose();
    });
  },
  { backends: ['webgpu'] },
);
