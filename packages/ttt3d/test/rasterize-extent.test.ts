import { expect, it } from 'vitest';
import { philoxUniform, tf } from '@tessera/tensor-core';
import type { HostTensor, Tensor } from '@tessera/tensor-core';
import { describeBackends, expectAllClose } from '@tessera/tensor-core/testing';
import { Camera } from '../src/camera/index.js';
import { Gaussians } from '../src/gaussians/index.js';
import { rasterize, rasterizeReference } from '../src/rasterize/index.js';
import { countIntersections } from '../src/rasterize/host.js';
import { rasterizeOp } from '../src/rasterize/op.js';
import { type GaussianInput, rasterAttrs } from '../src/rasterize/raster-attrs.js';
import { projectReference } from '../src/rasterize/reference-project.js';
import { blobs, frontCamera, randomGaussians } from './cases.js';

/** Small Gaussians (a few pixels) with opacities from 0.0009 (logit −7, culled) to 0.993 (logit 5). */
function scene(count: number, seed: number): Gaussians {
  const g = randomGaussians({ count, shDegree: 1, seed, extent: 1.2, logScaleMin: -4, logScaleMax: -2.5 });
  const opacityLogits = philoxUniform([count], { seed: seed + 1, low: -7, high: 5 });
  const wide = new Gaussians({ means: g.means, logScales: g.logScales, quaternions: g.quaternions, opacityLogits, sh: g.sh });
  tf.dispose([g.opacityLogits]);
  return wide;
}

function camera(width: number, height: number): Camera {
  return Camera.fromLookAt([0.4, -0.3, -4.5], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width, height });
}

async function hostInputs(g: Gaussians): Promise<Record<GaussianInput, HostTensor>> {
  const out = {} as Record<GaussianInput, HostTensor>;
  for (const [name, t] of Object.entries(g.toTensors()) as [GaussianInput, Tensor][]) {
    out[name] = { shape: t.shape, dtype: 'float32', values: (await t.data()) as Float32Array };
  }
  return out;
}

/**
 * From the dense reference's projection (float64 from here on), per scene: the intersections of its 3.33σ box
 * (`fixed`); of the opacity-aware box the kernels list (`aware`: tiles holding a pixel centre within
 * k·sqrt(Σ'_axis), k² = 3.33² + 2 ln o); and of the tiles where the Gaussian has a pixel with α ≥ 1/255 (`needed`),
 * which must all lie in the opacity-aware box.
 */
async function boxCounts(g: Gaussians, width: number, height: number): Promise<{ fixed: number; aware: number; needed: number }> {
  const attrs = rasterAttrs(camera(width, height), width, height, 1, 1);
  const p = projectReference(g.toTensors() as Record<GaussianInput, Tensor>, attrs);
  const fields = [p.u, p.v, p.conicA, p.conicB, p.conicC, p.opacity, p.valid, p.tileX0, p.tileX1, p.tileY0, p.tileY1];
  const [u, v, ca, cb, cc, o, valid, x0, x1, y0, y1] = (await Promise.all(fields.map((t) => t.data()))) as Float32Array[];
  tf.dispose(Object.values(p));
  let fixed = 0;
  let aware = 0;
  let needed = 0;
  for (let i = 0; i < g.count; i++) {
    if (!valid![i]) continue;
    fixed += (x1![i]! - x0![i]!) * (y1![i]! - y0![i]!);
    const det = ca![i]! * cc![i]! - cb![i]! * cb![i]!;
    const k2 = 3.33 ** 2 + 2 * Math.log(o![i]!);
    if (!(k2 > 0)) continue;
    const rx = Math.sqrt((k2 * cc![i]!) / det);
    const ry = Math.sqrt((k2 * ca![i]!) / det);
    const xLo = Math.max(Math.ceil(u![i]! - rx - 0.5), 0);
    const xHi = Math.min(Math.floor(u![i]! + rx - 0.5), width - 1);
    const yLo = Math.max(Math.ceil(v![i]! - ry - 0.5), 0);
    const yHi = Math.min(Math.floor(v![i]! + ry - 0.5), height - 1);
    const box =
      xLo <= xHi && yLo <= yHi
        ? [Math.floor(xLo / 16), Math.floor(xHi / 16) + 1, Math.floor(yLo / 16), Math.floor(yHi / 16) + 1]
        : [0, 0, 0, 0];
    aware += (box[1]! - box[0]!) * (box[3]! - box[2]!);
    for (let ty = y0![i]!; ty < y1![i]!; ty++) {
      for (let tx = x0![i]!; tx < x1![i]!; tx++) {
        let drawn = false;
        for (let py = 16 * ty; py < Math.min(height, 16 * ty + 16) && !drawn; py++) {
          for (let px = 16 * tx; px < Math.min(width, 16 * tx + 16) && !drawn; px++) {
            const dx = u![i]! - px - 0.5;
            const dy = v![i]! - py - 0.5;
            const sigma = 0.5 * (ca![i]! * dx * dx + cc![i]! * dy * dy) + cb![i]! * dx * dy;
            drawn = sigma >= 0 && o![i]! * Math.exp(-sigma) >= 1 / 255;
          }
        }
        if (!drawn) continue;
        needed++;
        expect(tx >= box[0]! && tx < box[1]! && ty >= box[2]! && ty < box[3]!, `Gaussian ${i}, tile (${tx}, ${ty})`).toBe(true);
      }
    }
  }
  return { fixed, aware, needed };
}

describeBackends('rasterize tile extent', (backend) => {
  // issue 15: gsplat lists a Gaussian only in the tiles of its opacity-aware box; so do the kernels now
  it('lists the tiles of the opacity-aware box: fewer than the 3.33σ box, none that a drawn pixel needs left out', async () => {
    const [w, h] = [160, 112];
    const g = scene(3000, 5);
    const { fixed, aware, needed } = await boxCounts(g, w, h);
    const host = countIntersections(await hostInputs(g), rasterAttrs(camera(w, h), w, h, 1, 1));
    // float32 projection (the reference's tfjs ops) against float64 (the host) may move a box edge across a tile
    expect(Math.abs(host - aware)).toBeLessThanOrEqual(2);
    expect(host).toBeLessThan(0.8 * fixed);
    expect(host).toBeGreaterThanOrEqual(needed);
    if (backend === 'webgpu') {
      const [rendered, pre, order, keys] = rasterizeOp(g.toTensors(), rasterAttrs(camera(w, h), w, h, 1, 65536)) as Tensor[];
      const total = (await tf.slice(order as Tensor, [g.count], [1]).data())[0] as number;
      tf.dispose([rendered, pre, order, keys] as Tensor[]);
      expect(Math.abs(total - host)).toBeLessThanOrEqual(2);
    }
    g.dispose();
  });

  // on the camera's axes (u or v at a pixel centre, Σ'_xy = 0) a Gaussian's least σ along a column or row is at the
  // box's edge: each opacity is set so that α = 1.01/255 at one pixel beyond a tile boundary, the only pixel of that
  // tile near the threshold (~3.1σ away, inside the 3.33σ box); without that tile the pixel would be 0
  it('keeps the tile that only a pixel at α just above 1/255 reaches, on either side of the box', async () => {
    const cam = frontCamera(64, 40);
    const attrs = rasterAttrs(cam, 64, 64, 0, 1);
    // (u, v) = 10·(X, Y) + 31.5 at depth 4: A at (≈53.95, 31.5) reaches pixel (47, 31), the last column of tile
    // (2, 1), from the right; B at (31.5, ≈26.05) pixel (31, 32), the first row of tile (1, 2), from above
    const d = Math.sqrt(2 * 4.3 * Math.log(127.5 / 1.01));
    const at: [number, number, number][] = [
      [(47.5 + d - 31.5) / 10, 0, 0],
      [0, (32.5 - d - 31.5) / 10, 0],
    ];
    const pixels = [
      [47, 31],
      [31, 32],
    ];
    const place = (opacity: number[]): Gaussians =>
      blobs(at.map((a, i) => ({ at: a, scale: 0.2, opacity: opacity[i]!, rgb: [0.9, 0.4 * i, 0.2] })));
    const probe = place([0.5, 0.5]);
    const p = projectReference(probe.toTensors() as Record<GaussianInput, Tensor>, attrs);
    const [u, v, ca, cb, cc] = (await Promise.all([p.u, p.v, p.conicA, p.conicB, p.conicC].map((t) => t.data()))) as Float32Array[];
    tf.dispose(Object.values(p));
    probe.dispose();
    const opacity = pixels.map(([px, py], i) => {
      const dx = u![i]! - px! - 0.5;
      const dy = v![i]! - py! - 0.5;
      return (1.01 / 255) * Math.exp(0.5 * (ca![i]! * dx * dx + cc![i]! * dy * dy) + cb![i]! * dx * dy);
    });
    const g = place(opacity);
    const fast = rasterize(g, cam);
    const ref = rasterizeReference(g, cam);
    const alpha = (await fast.alpha.data()) as Float32Array;
    for (const [px, py] of pixels) expect(alpha[py! * 64 + px!], `pixel (${px}, ${py})`).toBeCloseTo(1.01 / 255, 6);
    await expectAllClose(fast.alpha, ref.alpha, { atol: 2e-6 });
    await expectAllClose(fast.image, ref.image, { atol: 2e-6 });
    tf.dispose([fast.image, fast.depth, fast.alpha, ref.image, ref.depth, ref.alpha]);
    g.dispose();
  });

  // the dense reference keeps the 3.33σ box (reference-project.ts): the tiles between the two boxes hold no pixel
  // with α ≥ 1/255, so dropping them changes no image and no gradient
  it('renders and differentiates as the dense reference, whose 3.33σ box keeps every tile', async () => {
    const [w, h] = [40, 34];
    const g = scene(120, 9);
    const cam = camera(w, h);
    const opts = { background: [0.2, 0.3, 0.1] };
    const fast = rasterize(g, cam, opts);
    const ref = rasterizeReference(g, cam, opts);
    await expectAllClose(fast.image, ref.image, { atol: 2e-5 });
    await expectAllClose(fast.alpha, ref.alpha, { atol: 2e-5 });
    tf.dispose([fast.image, fast.depth, fast.alpha, ref.image, ref.depth, ref.alpha]);
    const weights = philoxUniform([h, w, 3], { seed: 3, low: -1, high: 1 });
    const lossOf =
      (render: typeof rasterize) =>
      (...f: Tensor[]) => {
        const [means, logScales, quaternions, opacityLogits, sh] = f as [Tensor, Tensor, Tensor, Tensor, Tensor];
        const r = render(new Gaussians({ means, logScales, quaternions, opacityLogits, sh }), cam, opts);
        return tf.add(tf.sum(tf.mul(r.image, weights)), tf.sum(r.alpha));
      };
    const fields = [g.means, g.logScales, g.quaternions, g.opacityLogits, g.sh];
    const a = tf.grads(lossOf(rasterize))(fields);
    const b = tf.grads(lossOf(rasterizeReference))(fields);
    for (let i = 0; i < fields.length; i++) {
      const scale = (await tf.max(tf.abs(b[i] as Tensor)).data())[0] as number;
      expect(scale).toBeGreaterThan(0.01);
      await expectAllClose(a[i] as Tensor, b[i] as Tensor, { atol: 2e-3 * scale, rtol: 1e-3, message: `gradient ${i}` });
    }
    tf.dispose([...a, ...b, weights]);
    g.dispose();
  });
});
