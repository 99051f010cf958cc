import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { photometricLoss } from '../src/fit/loss.js';
import type { LossWeights } from '../src/fit/photometric-loss/attrs.js';
import { photometricLossOp } from '../src/fit/photometric-loss/op.js';
import { photometricLossReference } from '../src/fit/photometric-loss/reference.js';

/**
 * A render and a target `[h, w, 3]` in [0, 1] that agree exactly on about a third of the elements (where
 * tfjs' |·|′ takes its value at 0, −1) and differ elsewhere, so the L1 and SSIM terms both get gradients.
 */
function images(h: number, w: number, seed: number): [Tensor, Tensor] {
  return tf.tidy(() => {
    const target = philoxUniform([h, w, 3], { seed });
    const other = philoxUniform([h, w, 3], { seed: seed + 1 });
    const same = tf.less(philoxUniform([h, w, 3], { seed: seed + 2 }), 0.3);
    return [tf.where(same, target, other), target];
  });
}

// 1×1 and 3×4 are smaller than the 11×11 window (every pixel a border pixel); 7×13 and 12×5 have borders on one
// axis only, 14×16 interior pixels too
const SIZES: [number, number][] = [
  [1, 1],
  [3, 4],
  [7, 13],
  [12, 5],
  [14, 16],
];
const WEIGHTS: LossWeights[] = [
  { l1: 0.8, dssim: 0.2 },
  { l1: 1, dssim: 0 },
  { l1: 0, dssim: 1 },
  { l1: 0.3, dssim: 2 },
];

describeBackends('photometricLoss (fused L1 + D-SSIM)', (backend) => {
  it("matches the tfjs composite's value at every size and weighting, borders included", async () => {
    // wasm runs the composite itself (its conv2d beats the typed-array kernel there)
    expect(photometricLossOp.hasKernel()).toBe(backend !== 'wasm');
    for (const [h, w] of SIZES) {
      const [render, target] = images(h, w, h * 31 + w);
      for (const weights of WEIGHTS) {
        const ours = photometricLoss(render, target, weights);
        const ref = photometricLossReference({ render, target }, weights);
        expect(ours.shape).toEqual([]);
        await expectAllClose(ours, ref, { atol: 2e-6, rtol: 1e-5 });
        tf.dispose([ours, ref]);
      }
      tf.dispose([render, target]);
    }
  });

  it('sums images of more elements than one workgroup pass covers (> 256 × 256 per-workgroup partial sums)', async () => {
    const [render, target] = images(150, 180, 9);
    const weights = { l1: 0.8, dssim: 0.2 };
    const ours = photometricLoss(render, target, weights);
    const ref = photometricLossReference({ render, target }, weights);
    await expectAllClose(ours, ref, { atol: 2e-6, rtol: 1e-5 });
    tf.dispose([render, target, ours, ref]);
  });

  it("matches the composite's gradient (tf.grad) w.r.t. the render, times the upstream cotangent", async () => {
    for (const [h, w] of SIZES) {
      const [render, target] = images(h, w, h * 17 + w);
      for (const weights of WEIGHTS) {
        const dy = tf.scalar(-2.5);
        const [ours] = tf.grads((r: Tensor) => photometricLoss(r, target, weights))([render], dy);
        const [ref] = tf.grads((r: Tensor) => photometricLossReference({ render: r, target }, weights))([render], dy);
        expect(ours!.shape).toEqual([h, w, 3]);
        // the gradient is O(1/M) per element; compare on that scale
        const scale = 1 / (h * w * 3);
        await expectAllClose(ours!, ref!, { atol: 2e-5 * scale, rtol: 1e-4 });
        tf.dispose([dy, ours!, ref!]);
      }
      tf.dispose([render, target]);
    }
  });

  it("matches the composite's gradient w.r.t. the target too", async () => {
    const [render, target] = images(6, 9, 5);
    const weights = { l1: 0.8, dssim: 0.2 };
    const ours = tf.grad((t: Tensor) => photometricLoss(render, t, weights))(target);
    const ref = tf.grad((t: Tensor) => photometricLossReference({ render, target: t }, weights))(target);
    await expectAllClose(ours, ref, { atol: 1e-7, rtol: 1e-4 });
    tf.dispose([render, target, ours, ref]);
  });

  it('runs forward and backward leaking nothing', async () => {
    const [render, target] = images(9, 10, 3);
    await expectNoLeaks(() => {
      const g = tf.grad((r: Tensor) => photometricLossOp({ render: r, target }, { l1: 0.8, dssim: 0.2 }))(render);
      g.dispose();
      photometricLoss(render, target, { l1: 0, dssim: 1 }).dispose();
    });
    tf.dispose([render, target]);
  });
});
