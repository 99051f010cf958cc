import { expect, it } from 'vitest';
import { philoxUniform, type Tensor, type TensorInfo, tf, webgpuSubgroups } from '@tessera/tensor-core';
import { runKernel } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose } from '@tessera/tensor-core/testing';
import { Camera } from '../src/camera/index.js';
import {
  CompositeBackwardProgram,
  PARTIAL_WIDTH,
  skipReduction,
  subgroupReduction,
  transposePlan,
} from '../src/rasterize/composite-backward.program.js';
import { type BackwardReduction, rasterizeBackwardWith } from '../src/rasterize/kernel.js';
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

it('sizes the skipping variant groups to at most 32 Gaussians (one mark bit each) in the same memory', () => {
  expect(skipReduction(32)).toEqual({ maxSubgroups: 8, group: 32 });
  expect(skipReduction(8)).toEqual({ maxSubgroups: 32, group: 8 });
  expect(skipReduction(4)).toEqual({ maxSubgroups: 64, group: 4 });
  expect(skipReduction(128)).toEqual({ maxSubgroups: 2, group: 32 });
});

/**
 * The transposing reduction on the host, step for step as transposeReductionWgsl and heldQuantity generate it, for
 * the sizes lavapipe (8) does not run: every quantity summed over every lane, stored by exactly one lane.
 */
function emulateTranspose(values: number[][], size: number): number[] {
  const plan = transposePlan(PARTIAL_WIDTH, size);
  let regs = values.map((v) => [...v]);
  for (const { mask, n, m } of plan.halving) {
    const send = regs.map((r, lane) =>
      Array.from({ length: m }, (_, i) => ((lane & mask) !== 0 ? r[i] : i + m < n ? r[i + m] : 0) as number),
    );
    regs = regs.map((r, lane) =>
      Array.from(
        { length: m },
        (_, i) => (((lane & mask) !== 0 ? (i + m < n ? r[i + m] : 0) : r[i]) as number) + (send[lane ^ mask]?.[i] as number),
      ),
    );
  }
  for (const mask of plan.plain) regs = regs.map((r, lane) => r.map((x, i) => x + (regs[lane ^ mask]?.[i] as number)));
  const out = new Array<number>(PARTIAL_WIDTH).fill(Number.NaN);
  const stores = new Array<number>(PARTIAL_WIDTH).fill(0);
  const plainMask = plan.plain.reduce((a, b) => a | b, 0);
  for (const [lane, r] of regs.entries()) {
    for (const [i, x] of r.entries()) {
      let q = i;
      let ok = (lane & plainMask) === 0;
      for (const { mask, n, m } of [...plan.halving].reverse()) {
        q += (lane & mask) !== 0 ? m : 0;
        ok &&= q < n;
      }
      if (ok) {
        out[q] = x;
        stores[q] = (stores[q] as number) + 1;
      }
    }
  }
  expect(stores).toEqual(new Array(PARTIAL_WIDTH).fill(1));
  return out;
}

it('plans a transposing reduction that sums every quantity over every lane, for subgroups of 4 to 128', () => {
  for (const size of [4, 8, 16, 32, 64, 128]) {
    // integers: the sums are exact whatever the order
    const values = Array.from({ length: size }, (_, lane) => Array.from({ length: PARTIAL_WIDTH }, (_, q) => (lane + 1) * 100 + q));
    const expected = Array.from({ length: PARTIAL_WIDTH }, (_, q) => values.reduce((s, v) => s + (v[q] as number), 0));
    expect(emulateTranspose(values, size)).toEqual(expected);
  }
  // 12 shuffles a Gaussian on 32 lanes, where subgroupAdd of 10 values takes 10 × 5
  const plan = transposePlan(PARTIAL_WIDTH, 32);
  expect(plan.halving.reduce((s, h) => s + h.m, 0) + plan.plain.length).toBe(12);
});

/** rasterizeBackwardWith, also returning the compositing's partials `[capacity, 10]` (instead of freeing them). */
function backwardWithPartials(variant: BackwardReduction) {
  return (ctx: Parameters<typeof rasterizeBackwardWith>[0]): TensorInfo[] => {
    let partials: TensorInfo | undefined;
    const grads = rasterizeBackwardWith(
      {
        ...ctx,
        run: (program, inputs, dtype, uniforms) => {
          const out = ctx.run(program, inputs, dtype, uniforms);
          if (program instanceof CompositeBackwardProgram) partials = out;
          return out;
        },
        dispose: (info) => {
          if (info !== partials) ctx.dispose(info);
        },
      },
      variant,
    );
    if (!partials) throw new Error('no CompositeBackwardProgram ran');
    return [grads, partials];
  };
}

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

    // the same scene, and every 7th Gaussian at opacity 0.005, just above 1/255: α ≥ 1/255 only within ~0.7σ of its
    // mean, a box that still lists it in a tile or few, where often no pixel centre falls inside, so no pixel takes it
    // (39 of the 634 listed intersections get all-zero partials on lavapipe); small Gaussians (≲ 6 px) leave most
    // subgroups of a tile (on lavapipe: half a 16-pixel row) without a taker while others have one
    it('skips per subgroup the Gaussians none of its pixels took, as the tree sums them, in a fixed order', async () => {
      const { enabled, minSize, maxSize } = webgpuSubgroups();
      if (!enabled) return;
      const g = randomGaussians({ count: 300, shDegree: 1, seed: 21, extent: 1, logScaleMin: -2.6, logScaleMax: -1.6 });
      const faint = tf.tensor1d(Array.from({ length: 300 }, (_, i) => i % 7 === 0));
      const opacityLogits = tf.where(faint, tf.fill([300], -5.3), philoxUniform([300], { seed: 22, low: -1, high: 6 }));
      const cam = Camera.fromLookAt([0.2, -0.1, -4], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 56, height: 40 });
      const attrs = rasterAttrs(cam, 56, 40, 1, 65536);
      const inputs = { ...g.toTensors(), opacityLogits };
      const [rendered, pre, order, keys] = rasterizeOp(inputs, attrs) as [Tensor, Tensor, Tensor, Tensor];
      const dy = philoxUniform([40, 56, 5], { seed: 23, low: -1, high: 1 });
      const backward = (variant: BackwardReduction): Tensor[] => {
        tf.dispose(tf.fill([attrs.capacity, 10], Number.NaN));
        return runKernel(backwardWithPartials(variant), { ...inputs, rendered, dy, pre, order, keys }, attrs);
      };
      const [tree, treePartials] = backward({ enabled: false, minSize: 0 }) as [Tensor, Tensor];
      const scale = (await tf.max(tf.abs(tree)).data())[0] as number;
      // the listed intersections (the capacity beyond them is left as it was: NaN)
      const total = (await order.data())[300] as number;
      const listed = tf.slice(treePartials, [0, 0], [total, PARTIAL_WIDTH]);
      const partialScale = (await tf.max(tf.abs(listed)).data())[0] as number;
      expect(partialScale).toBeGreaterThan(0);
      // the intersections nobody took (and those after every pixel stopped) have all-zero partials: there are some
      const zeroRows = tf.equal(tf.sum(tf.abs(listed), 1), 0);
      const nobody = (await tf.sum(tf.cast(zeroRows, 'int32')).data())[0] as number;
      expect(nobody).toBeGreaterThan(20);
      expect(nobody).toBeLessThan(total / 2);
      const variants: [string, BackwardReduction][] = [
        // the adapter's size: the transposing reduction (lavapipe: 8 lanes, the H100: 32)
        [`transposing, ${minSize} lanes`, { enabled, minSize, maxSize, skip: true }],
        // generated for 4 lanes: a subgroup of another size takes the subgroupAdd branch; more slots than are claimed
        ['transposing for 4 lanes', { enabled, minSize: 4, maxSize: 4, skip: true }],
        // the sizes unknown: subgroupAdd only
        ['subgroupAdd', { enabled, minSize, maxSize: 0, skip: true }],
      ];
      for (const [name, variant] of variants) {
        const [grads, all] = backward(variant) as [Tensor, Tensor];
        const partials = tf.slice(all, [0, 0], [total, PARTIAL_WIDTH]);
        await expectAllClose(partials, listed, { atol: 1e-5 * partialScale, rtol: 1e-4, message: `${name}: partials` });
        // exactly zero where no pixel took the Gaussian: no stale slot added
        const zeros = tf.where(tf.expandDims(zeroRows, 1), partials, 0);
        await expectAllClose(zeros, tf.zerosLike(zeros), { atol: 0, rtol: 0, message: `${name}: partials nobody took` });
        await expectAllClose(grads, tree, { atol: 1e-5 * scale, rtol: 1e-4, message: `${name}: gradients` });
        const [again, againAll] = backward(variant) as [Tensor, Tensor];
        const againPartials = tf.slice(againAll, [0, 0], [total, PARTIAL_WIDTH]);
        await expectAllClose(againPartials, partials, { atol: 0, rtol: 0, message: `${name}: run twice` });
        tf.dispose([grads, all, partials, zeros, again, againAll, againPartials]);
      }
      tf.dispose([tree, treePartials, listed, zeroRows, rendered, pre, order, keys, dy, opacityLogits, faint]);
      g.dispose();
    });
  },
  { backends: ['webgpu'] },
);
