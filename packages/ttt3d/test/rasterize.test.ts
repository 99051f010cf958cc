import { describe, expect, it } from 'vitest';
import { tf, warmUpWebGPU } from '@tessera/tensor-core';
import type { HostTensor, Tensor } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { Camera } from '../src/camera/index.js';
import { Gaussians } from '../src/gaussians/index.js';
import { rasterize, rasterizeReference } from '../src/rasterize/index.js';
import { rasterizeHost } from '../src/rasterize/host.js';
import { rasterizeBackwardOp, rasterizeOp } from '../src/rasterize/op.js';
import { GAUSSIAN_INPUTS, rasterAttrs } from '../src/rasterize/raster-attrs.js';
import { checkStorageBindings, maxStorageBinding } from '../src/rasterize/storage-bindings.js';
import { type Blob, blobs, frontCamera, randomGaussians } from './cases.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const logit = (p: number): number => Math.log(p / (1 - p));

/** Closed form of one isotropic Gaussian at the world origin seen by frontCamera: α per pixel. */
function isotropicAlpha(size: number, f: number, scale: number, opacity: number): Float32Array {
  const z = 4;
  const variance = ((f * scale) / z) ** 2 + 0.3;
  const centre = size / 2 - 0.5;
  const radius = Math.ceil(3.33 * Math.sqrt(variance));
  const tileLo = Math.max(0, Math.floor((centre - radius) / 16));
  const tileHi = Math.min(Math.ceil(size / 16), Math.ceil((centre + radius) / 16));
  const o = sigmoid(Math.fround(logit(opacity)));
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const tx = Math.floor(x / 16);
      const ty = Math.floor(y / 16);
      if (tx < tileLo || tx >= tileHi || ty < tileLo || ty >= tileHi) continue;
      const d2 = (x + 0.5 - centre) ** 2 + (y + 0.5 - centre) ** 2;
      const alpha = Math.min(0.99, o * Math.exp((-0.5 * d2) / variance));
      out[y * size + x] = alpha >= 1 / 255 ? alpha : 0;
    }
  }
  return out;
}

async function disposeResult(r: { image: Tensor; depth: Tensor; alpha: Tensor }): Promise<void> {
  tf.dispose([r.image, r.depth, r.alpha]);
}

describeBackends('rasterize', (backend) => {
  it('renders one isotropic Gaussian with its closed-form footprint, peak, colour and depth', async () => {
    const g = blobs([{ at: [0, 0, 0], scale: 0.15, opacity: 0.8, rgb: [0.9, 0.4, 0.2] }]);
    const r = rasterize(g, frontCamera(), { background: [0.1, 0.2, 0.3] });
    const alpha = isotropicAlpha(32, 40, 0.15, 0.8);
    await expectAllClose(r.alpha, alpha, { atol: 2e-6 });
    await expectAllClose(
      r.depth,
      alpha.map((a) => 4 * a),
      { atol: 1e-5 },
    );
    const image = new Float32Array(32 * 32 * 3);
    alpha.forEach((a, i) => {
      [0.9, 0.4, 0.2].forEach((c, ch) => {
        image[3 * i + ch] = a * c + (1 - a) * [0.1, 0.2, 0.3][ch]!;
      });
    });
    await expectAllClose(r.image, image, { atol: 2e-6 });
    // the peak sits at the pixel whose centre is the projected mean
    const values = await r.alpha.data();
    expect(values[15 * 32 + 15]).toBeCloseTo(sigmoid(Math.fround(logit(0.8))), 6);
    await disposeResult(r);
    g.dispose();
  });

  it('occludes by depth, not by index: the nearer Gaussian is drawn in front', async () => {
    const near: Blob = { at: [0, 0, -1], scale: 0.2, opacity: 0.7, rgb: [1, 0, 0] };
    const far: Blob = { at: [0, 0, 1], scale: 0.2, opacity: 0.7, rgb: [0, 0, 1] };
    const o = sigmoid(Math.fround(logit(0.7)));
    for (const order of [
      [near, far],
      [far, near],
    ]) {
      const g = blobs(order);
      const r = rasterize(g, frontCamera());
      const px = (await r.image.data()).slice(3 * (15 * 32 + 15), 3 * (15 * 32 + 16));
      expect(px[0]).toBeCloseTo(o, 5);
      expect(px[2]).toBeCloseTo(o * (1 - o), 5);
      expect((await r.depth.data())[15 * 32 + 15]).toBeCloseTo(3 * o + 5 * o * (1 - o), 4);
      await disposeResult(r);
      g.dispose();
    }
  });

  it('draws Gaussians at equal depth in index order (ties as a stable depth sort leaves them)', async () => {
    const red: Blob = { at: [0, 0, 0], scale: 0.2, opacity: 0.7, rgb: [1, 0, 0] };
    const blue: Blob = { at: [0, 0, 0], scale: 0.2, opacity: 0.7, rgb: [0, 0, 1] };
    const o = sigmoid(Math.fround(logit(0.7)));
    for (const [order, front] of [
      [[red, blue], 0],
      [[blue, red], 2],
    ] as const) {
      const g = blobs([...order]);
      const r = rasterize(g, frontCamera());
      const px = (await r.image.data()).slice(3 * (15 * 32 + 15), 3 * (15 * 32 + 16));
      // the first of the two coincident Gaussians is in front
      expect(px[front]).toBeCloseTo(o, 5);
      expect(px[2 - front]).toBeCloseTo(o * (1 - o), 5);
      await disposeResult(r);
      g.dispose();
    }
  });

  it('stops a pixel before the Gaussian that would bring T to ≤ 1e-4, without adding it', async () => {
    // four coincident Gaussians with α = o at the centre pixel: T = 1 − o, (1 − o)², (1 − o)³ > 1e-4, then ≤ 1e-4
    const colours: [number, number, number][] = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 1],
    ];
    const g = blobs(colours.map((rgb, i) => ({ at: [0, 0, i * 0.01] as [number, number, number], scale: 0.1, opacity: 0.92, rgb })));
    const r = rasterize(g, frontCamera());
    const o = sigmoid(Math.fround(logit(0.92)));
    const t = [1, 1 - o, (1 - o) ** 2, (1 - o) ** 3];
    const px = (await r.image.data()).slice(3 * (15 * 32 + 15), 3 * (15 * 32 + 16));
    expect(px[0]).toBeCloseTo(o * t[0]!, 5);
    expect(px[1]).toBeCloseTo(o * t[1]!, 5);
    expect(px[2]).toBeCloseTo(o * t[2]!, 5);
    expect((await r.alpha.data())[15 * 32 + 15]).toBeCloseTo(1 - (1 - o) ** 3, 6);
    await disposeResult(r);
    g.dispose();
  });

  it('blends the background behind partial coverage: image = Σ cαT + (1 − alpha)·background', async () => {
    const g = randomGaussians({ count: 12, shDegree: 1, seed: 21, extent: 1, logScaleMin: -2.5, logScaleMax: -1 });
    const cam = Camera.fromLookAt([0.5, -0.3, -3.5], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 24, height: 20 });
    const bg = [0.3, 0.6, 0.9];
    const black = rasterize(g, cam);
    const lit = rasterize(g, cam, { background: bg });
    const expected = tf.tidy(() => tf.add(black.image, tf.mul(tf.expandDims(tf.sub(1, black.alpha), 2), tf.tensor1d(bg))));
    await expectAllClose(lit.image, expected, { atol: 1e-6 });
    await expectAllClose(lit.alpha, black.alpha, { atol: 0 });
    tf.dispose(expected);
    await disposeResult(black);
    await disposeResult(lit);
    g.dispose();
  });

  it('renders an empty scene as the background with zero depth and alpha', async () => {
    const g = blobs([]);
    const r = rasterize(g, frontCamera(20), { background: [0.25, 0.5, 1] });
    expect(r.image.shape).toEqual([20, 20, 3]);
    await expectAllClose(
      r.image,
      tf.tidy(() => tf.mul(tf.ones([20, 20, 1]), tf.tensor1d([0.25, 0.5, 1]))),
      { atol: 0 },
    );
    await expectAllClose(r.depth, new Float32Array(400), { atol: 0 });
    await expectAllClose(r.alpha, new Float32Array(400), { atol: 0 });
    await disposeResult(r);
    g.dispose();
  });

  it('renders at a requested size with the given SH degree', async () => {
    const g = randomGaussians({ count: 8, shDegree: 2, seed: 5, extent: 0.8, logScaleMin: -2, logScaleMax: -1 });
    const cam = Camera.fromLookAt([0, 0, -3], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 24, height: 20 });
    const r = rasterize(g, cam, { width: 19, height: 33, shDegree: 1 });
    expect(r.image.shape).toEqual([33, 19, 3]);
    expect(r.depth.shape).toEqual([33, 19]);
    await expectAllClose(r.image, rasterizeReference(g, cam, { width: 19, height: 33, shDegree: 1 }).image, { atol: 2e-5 });
    await disposeResult(r);
    g.dispose();
  });

  // cameras from several sides; extent 2 puts some Gaussians behind the camera and outside the image
  const views: [number, number, number][] = [
    [0.4, -0.3, -3],
    [2.6, 0.5, 1.2],
    [0, -2.9, 0.3],
  ];
  const randomView = (v: number): { g: Gaussians; cam: Camera } => ({
    g: randomGaussians({ count: 40, shDegree: v === 2 ? 3 : v, seed: 100 + v, extent: 2, logScaleMin: -3, logScaleMax: -0.7 }),
    cam: Camera.fromLookAt(views[v]!, [0, 0, 0], [0, 0, 1], { fovY: 1.0, width: 48 - 8 * v, height: 36 + 5 * v }),
  });
  views.forEach((_, v) => {
    it(`matches the dense reference on a random scene (view ${v}, SH degree ${v === 2 ? 3 : v})`, async () => {
      const { g, cam } = randomView(v);
      const opts = { background: [0.2, 0.3, 0.1] };
      await warmUpWebGPU(() => [rasterize(g, cam, opts), rasterizeReference(g, cam, opts)]);
      const fast = rasterize(g, cam, opts);
      const ref = rasterizeReference(g, cam, opts);
      await expectAllClose(fast.image, ref.image, { atol: 2e-5 });
      await expectAllClose(fast.alpha, ref.alpha, { atol: 2e-5 });
      await expectAllClose(fast.depth, ref.depth, { atol: 2e-4, rtol: 1e-5 });
      await disposeResult(fast);
      await disposeResult(ref);
      g.dispose();
    });
  });

  it('confines a zero quaternion to its Gaussian: it is not drawn, and the others render as without it', async () => {
    const { g, cam } = randomView(0);
    const zeroed = new Gaussians({
      means: tf.clone(g.means),
      logScales: tf.clone(g.logScales),
      quaternions: tf.tidy(() => tf.concat([tf.zeros([1, 4]), tf.slice(g.quaternions, [1, 0], [-1, 4])])),
      opacityLogits: tf.clone(g.opacityLogits),
      sh: tf.clone(g.sh),
    });
    const rest = g.select(Array.from({ length: g.count - 1 }, (_, i) => i + 1));
    const a = rasterize(zeroed, cam);
    const b = rasterize(rest, cam);
    const ref = rasterizeReference(zeroed, cam);
    for (const key of ['image', 'depth', 'alpha'] as const) {
      expect((await a[key].data()).every(Number.isFinite), key).toBe(true);
      await expectAllClose(a[key], b[key], { atol: 1e-6, message: key });
      await expectAllClose(ref[key], b[key], { atol: 2e-4, message: `reference ${key}` });
    }
    // its gradient is zero, every other one finite
    const grads = tf.grads((q: Tensor) => {
      const moved = new Gaussians({ ...zeroed.toTensors(), quaternions: q });
      return tf.sum(rasterize(moved, cam).image);
    })([zeroed.quaternions]);
    const dq = (await grads[0]!.data()) as Float32Array;
    expect(Array.from(dq.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(dq.every(Number.isFinite)).toBe(true);
    tf.dispose([...grads]);
    for (const r of [a, b, ref]) await disposeResult(r);
    for (const x of [g, zeroed, rest]) x.dispose();
  });

  if (backend === 'webgpu') {
    it('equals the host (cpu and wasm) kernel to 1e-5 on random scenes', async () => {
      for (let v = 0; v < views.length; v++) {
        const { g, cam } = randomView(v);
        const wgsl = rasterize(g, cam);
        const host = await hostRender(g, cam);
        await expectAllClose(wgsl.image, host.image, { atol: 1e-5, rtol: 0, message: `view ${v} image` });
        await expectAllClose(wgsl.alpha, host.alpha, { atol: 1e-5, rtol: 0, message: `view ${v} alpha` });
        await expectAllClose(wgsl.depth, host.depth, { atol: 1e-5, rtol: 1e-5, message: `view ${v} depth` });
        await disposeResult(wgsl);
        g.dispose();
      }
    });

    it('marks a render whose intersections exceed maxIntersections as NaN instead of dropping splats', async () => {
      const g = randomGaussians({ count: 20, shDegree: 0, seed: 8, extent: 1, logScaleMin: -1.5, logScaleMax: -0.5 });
      const cam = Camera.fromLookAt([0, 0, -3], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 40, height: 40 });
      const r = rasterize(g, cam, { maxIntersections: 3 });
      expect(Array.from(await r.alpha.data()).every(Number.isNaN)).toBe(true);
      await disposeResult(r);
      const dMeans = tf.grad((m: Tensor) => {
        const moved = new Gaussians({
          means: m,
          logScales: g.logScales,
          quaternions: g.quaternions,
          opacityLogits: g.opacityLogits,
          sh: g.sh,
        });
        return tf.sum(rasterize(moved, cam, { maxIntersections: 3 }).image);
      })(g.means);
      expect(Array.from(await dMeans.data()).every(Number.isNaN)).toBe(true);
      dMeans.dispose();
      g.dispose();
    });

    it('throws, naming the buffer and the device limit, before dispatching a pass whose buffer exceeds the largest binding', async () => {
      const limit = maxStorageBinding() as number;
      const g = randomGaussians({ count: 4, shDegree: 0, seed: 5, extent: 1, logScaleMin: -2, logScaleMax: -1 });
      const inputs = { means: g.means, logScales: g.logScales, quaternions: g.quaternions, opacityLogits: g.opacityLogits, sh: g.sh };
      // 8 bytes an intersection in the tile-sorted keys: one more than fit
      const attrs = rasterAttrs(frontCamera(), 32, 32, 0, Math.floor(limit / 8) + 1);
      const before = tf.memory().numTensors;
      const message = new RegExp(`WebGPU forward would bind keys .* above this device's maxStorageBufferBindingSize of ${limit} bytes`);
      expect(() => rasterizeOp(inputs, attrs)).toThrow(message);
      const none = tf.zeros([0]);
      const noInts = tf.zeros([0], 'int32');
      const rendered = tf.zeros([32, 32, 5]);
      const backward = { ...inputs, rendered, dy: rendered, pre: none, order: noInts, keys: noInts };
      expect(() => rasterizeBackwardOp(backward, attrs)).toThrow(/WebGPU backward would bind partials/);
      tf.dispose([none, noInts, rendered]);
      expect(tf.memory().numTensors).toBe(before);
      g.dispose();
    });
  } else {
    it('renders 20k Gaussians at 256² (host kernel, no N·h·w memory)', async () => {
      const g = randomGaussians({ count: 20000, shDegree: 0, seed: 3, extent: 1, logScaleMin: -5, logScaleMax: -3.5 });
      const cam = Camera.fromLookAt([0.4, -0.3, -4.5], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 256, height: 256 });
      const r = rasterize(g, cam);
      const alpha = (await r.alpha.data()) as Float32Array;
      expect(alpha.every((a) => a >= 0 && a < 1)).toBe(true);
      // the scene covers much of the image
      expect(alpha.reduce((s, a) => s + a, 0) / alpha.length).toBeGreaterThan(0.2);
      await disposeResult(r);
      g.dispose();
    });
  }

  it('leaks no tensors', async () => {
    const g = randomGaussians({ count: 6, shDegree: 1, seed: 2, extent: 1, logScaleMin: -2, logScaleMax: -1 });
    const cam = frontCamera(20);
    await expectNoLeaks(() => rasterize(g, cam, { background: [1, 1, 1] }));
    await expectNoLeaks(() => rasterizeReference(g, cam));
    g.dispose();
  });
});

describe('checkStorageBindings (the WebGPU passes against the largest storage binding)', () => {
  // lavapipe's maxStorageBufferBindingSize: 1M Gaussians of SH degree 3 at 1080p exceed it
  const lavapipe = 2 ** 27;
  const hd = { width: 1920, height: 1080 };

  it('names the largest buffer of the pass, its size and the limit', () => {
    expect(() => checkStorageBindings('backward', 1e6, 16, { ...hd, capacity: 16 * 1e6 + 65536 }, lavapipe)).toThrow(
      /backward would bind partials \[16065536, 10\], 642621440 bytes, above this device's maxStorageBufferBindingSize of 134217728 bytes/,
    );
    // the forward binds no partials: its largest here is the SH input, 12 bytes a coefficient
    expect(() => checkStorageBindings('forward', 1e6, 16, { ...hd, capacity: 65536 }, lavapipe)).toThrow(
      /forward would bind sh \[1000000, 16, 3\], 192000000 bytes/,
    );
    expect(() => checkStorageBindings('backward', 6e5, 16, { ...hd, capacity: 65536 }, lavapipe)).toThrow(
      /gradients \[600000, 59\], 141600000 bytes/,
    );
  });

  it('passes what fits, and everything off WebGPU (no limit)', () => {
    expect(() => checkStorageBindings('backward', 1e5, 16, { ...hd, capacity: 16 * 1e5 + 65536 }, lavapipe)).not.toThrow();
    // exactly at the limit: rasterize's default capacity is the limit / 40 bytes of partials
    expect(() => checkStorageBindings('backward', 10, 1, { ...hd, capacity: Math.floor(lavapipe / 40) }, lavapipe)).not.toThrow();
    expect(() => checkStorageBindings('backward', 1e7, 16, { ...hd, capacity: 2 ** 31 - 1 }, undefined)).not.toThrow();
  });
});

/** The host kernel run directly on `g`'s values read back: the cpu and wasm path, whatever the backend. */
async function hostRender(g: Gaussians, cam: Camera): Promise<{ image: Float32Array; depth: Float32Array; alpha: Float32Array }> {
  const inputs = {} as Record<(typeof GAUSSIAN_INPUTS)[number], HostTensor>;
  for (const name of GAUSSIAN_INPUTS) {
    const t = g[name];
    inputs[name] = { shape: t.shape, dtype: 'float32', values: (await t.data()) as Float32Array };
  }
  const packed = rasterizeHost(inputs, rasterAttrs(cam, cam.width, cam.height, g.shDegree, 1)).values as Float32Array;
  const pixels = cam.width * cam.height;
  const image = new Float32Array(3 * pixels);
  const depth = new Float32Array(pixels);
  const alpha = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    image.set(packed.subarray(5 * i, 5 * i + 3), 3 * i);
    depth[i] = packed[5 * i + 3]!;
    alpha[i] = 1 - packed[5 * i + 4]!;
  }
  return { image, depth, alpha };
}
