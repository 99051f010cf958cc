import { expect, it } from 'vitest';
import { philoxUniform, tf, warmUpWebGPU } from '@tessera/tensor-core';
import type { HostTensor, Tensor } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { Camera } from '../src/camera/index.js';
import { Gaussians } from '../src/gaussians/index.js';
import { rasterize, rasterizeReference } from '../src/rasterize/index.js';
import { rasterizeBackwardHost } from '../src/rasterize/host.js';
import { rasterizeBackwardOp, rasterizeOp } from '../src/rasterize/op.js';
import { HOST_BACKWARD_INPUTS, rasterAttrs } from '../src/rasterize/raster-attrs.js';
import { randomGaussians } from './cases.js';

const FIELDS = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh'] as const;
type Render = typeof rasterize;

/** A scalar loss touching every output (image with a background, depth, alpha) through fixed random weights. */
function lossOf(render: Render, camera: Camera, h: number, w: number) {
  const wi = philoxUniform([h, w, 3], { seed: 91 });
  const wd = philoxUniform([h, w], { seed: 92 });
  const wa = philoxUniform([h, w], { seed: 93 });
  const loss = (m: Tensor, l: Tensor, q: Tensor, o: Tensor, s: Tensor): Tensor => {
    const g = new Gaussians({ means: m, logScales: l, quaternions: q, opacityLogits: o, sh: s });
    const r = render(g, camera, { background: [0.2, 0.1, 0.4] });
    return tf.addN([tf.sum(tf.mul(r.image, wi)), tf.mul(0.1, tf.sum(tf.mul(r.depth, wd))), tf.sum(tf.mul(r.alpha, wa))]);
  };
  return { loss, dispose: () => tf.dispose([wi, wd, wa]) };
}

function fields(g: Gaussians): Tensor[] {
  return FIELDS.map((f) => g[f]);
}

describeBackends('rasterize gradient', (backend) => {
  if (backend === 'cpu') {
    it('autodiff of the reference agrees with central finite differences', async () => {
      // wide, half-transparent splats: every pixel is well above α = 1/255 and far from T = 1e-4, so no
      // skip or stop decision flips under the perturbation (those steps make finite differences meaningless)
      const drawn = randomGaussians({ count: 3, shDegree: 1, seed: 44, extent: 0.3, logScaleMin: -0.6, logScaleMax: -0.3 });
      const g = new Gaussians({
        means: drawn.means,
        logScales: drawn.logScales,
        quaternions: drawn.quaternions,
        opacityLogits: tf.tensor1d([0, 0.5, 1]),
        sh: drawn.sh,
      });
      drawn.opacityLogits.dispose();
      const cam = Camera.fromLookAt([0.2, -0.1, -2.5], [0, 0, 0], [0, -1, 0], { fovY: 0.7, width: 16, height: 16 });
      const { loss, dispose } = lossOf(rasterizeReference, cam, 16, 16);
      const args = fields(g);
      const grads = tf.grads(loss)(args);
      const eps = 1e-3;
      for (let a = 0; a < args.length; a++) {
        const base = await args[a]!.data();
        const analytic = await grads[a]!.data();
        const scale = Math.max(...Array.from(analytic, Math.abs));
        const numeric = new Float32Array(base.length);
        for (let i = 0; i < base.length; i++) {
          const at = (delta: number): number =>
            tf.tidy(() => {
              const v = Float32Array.from(base);
              v[i] = (v[i] as number) + delta;
              const moved = args.map((t, j) => (j === a ? tf.tensor(v, t.shape) : t));
              return loss(...(moved as [Tensor, Tensor, Tensor, Tensor, Tensor])).dataSync()[0] as number;
            });
          numeric[i] = (at(eps) - at(-eps)) / (2 * eps);
        }
        await expectAllClose(numeric, analytic, { atol: 0.02 * scale, rtol: 0.02, message: FIELDS[a] });
        expect(scale).toBeGreaterThan(0.1);
      }
      tf.dispose(grads);
      dispose();
      g.dispose();
    });
  }

  for (const degree of [1, 3]) {
    const kernel = backend === 'webgpu' ? 'WGSL' : 'host';
    it(`${kernel} backward matches autodiff of the dense reference (SH degree ${degree})`, async () => {
      const g = randomGaussians({ count: 14, shDegree: degree, seed: 60 + degree, extent: 1, logScaleMin: -2.5, logScaleMax: -0.8 });
      const cam = Camera.fromLookAt([0.3, -0.2, -3], [0, 0, 0], [0, -1, 0], { fovY: 0.8, width: 22, height: 18 });
      const fast = lossOf(rasterize, cam, 18, 22);
      const ref = lossOf(rasterizeReference, cam, 18, 22);
      await warmUpWebGPU(() => {
        tf.grads(fast.loss)(fields(g));
        for (const d of tf.grads(ref.loss)(fields(g))) tf.max(tf.abs(d));
      });
      const a = tf.grads(fast.loss)(fields(g));
      const b = tf.grads(ref.loss)(fields(g));
      for (let i = 0; i < FIELDS.length; i++) {
        const scale = (await tf.max(tf.abs(b[i] as Tensor)).data())[0] as number;
        expect(scale).toBeGreaterThan(0.1);
        await expectAllClose(a[i] as Tensor, b[i] as Tensor, { atol: 2e-3 * scale, rtol: 1e-3, message: FIELDS[i] });
      }
      tf.dispose([...a, ...b]);
      fast.dispose();
      ref.dispose();
      g.dispose();
    });
  }

  if (backend === 'webgpu') {
    it('WGSL backward equals the host (cpu and wasm) backward', async () => {
      const g = randomGaussians({ count: 30, shDegree: 2, seed: 77, extent: 1.5, logScaleMin: -3, logScaleMax: -0.8 });
      const cam = Camera.fromLookAt([0.3, -0.2, -3], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 40, height: 34 });
      const attrs = rasterAttrs(cam, cam.width, cam.height, 2, 4096);
      const inputs = { means: g.means, logScales: g.logScales, quaternions: g.quaternions, opacityLogits: g.opacityLogits, sh: g.sh };
      const [rendered, pre, order, keys] = rasterizeOp(inputs, attrs) as [Tensor, Tensor, Tensor, Tensor];
      const dy = philoxUniform(rendered.shape, { seed: 5, low: -1, high: 1 });
      const wgsl = rasterizeBackwardOp({ ...inputs, rendered, dy, pre, order, keys }, attrs);
      tf.dispose([pre, order, keys]);
      const host = {} as Record<(typeof HOST_BACKWARD_INPUTS)[number], HostTensor>;
      const all: Record<string, Tensor> = { ...inputs, rendered, dy };
      for (const name of HOST_BACKWARD_INPUTS) {
        const t = all[name] as Tensor;
        host[name] = { shape: t.shape, dtype: 'float32', values: (await t.data()) as Float32Array };
      }
      const expected = rasterizeBackwardHost(host, attrs);
      const scale = Math.max(...Array.from(expected.values as Float32Array, Math.abs));
      expect(scale).toBeGreaterThan(0.1);
      await expectAllClose(wgsl, expected.values, { atol: 1e-5 * scale, rtol: 1e-4 });
      tf.dispose([rendered, dy, wgsl]);
      g.dispose();
    });
  } else {
    it('differentiates 20k Gaussians at 256² (host backward, no N·h·w memory)', async () => {
      const g = randomGaussians({ count: 20000, shDegree: 1, seed: 4, extent: 1, logScaleMin: -5, logScaleMax: -3.5 });
      const cam = Camera.fromLookAt([0.4, -0.3, -4.5], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 256, height: 256 });
      const { loss, dispose } = lossOf(rasterize, cam, 256, 256);
      const grads = tf.grads(loss)(fields(g));
      for (let i = 0; i < FIELDS.length; i++) {
        const values = (await grads[i]!.data()) as Float32Array;
        expect(values.every(Number.isFinite), FIELDS[i]).toBe(true);
        expect(
          values.some((v) => v !== 0),
          FIELDS[i],
        ).toBe(true);
      }
      tf.dispose(grads);
      dispose();
      g.dispose();
    });
  }

  it('leaks no tensors in the backward pass', async () => {
    const g = randomGaussians({ count: 5, shDegree: 0, seed: 7, extent: 0.6, logScaleMin: -2, logScaleMax: -1 });
    const cam = Camera.fromLookAt([0, 0, -3], [0, 0, 0], [0, -1, 0], { fovY: 0.8, width: 16, height: 16 });
    const { loss, dispose } = lossOf(rasterize, cam, 16, 16);
    await expectNoLeaks(() => tf.grads(loss)(fields(g)));
    dispose();
    g.dispose();
  });
});
