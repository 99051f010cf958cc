import type { Tensor } from '@tessera/tensor-core';
import { expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { Camera, orbitCameras, pluckerRays, pluckerRaysBatch } from '../src/camera/index.js';

async function pixel(rays: Tensor, i: number, j: number): Promise<number[]> {
  const [, w, c] = rays.shape as [number, number, number];
  const data = await rays.data();
  return Array.from(data.subarray((j * w + i) * c, (j * w + i + 1) * c));
}

function cross(a: readonly number[], b: readonly number[]): number[] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

describe('pluckerRays', () => {
  // camera at world (0, 0, −2) looking along +z: worldToCamera = [I | (0, 0, 2)]
  const shifted = new Camera({
    fx: 2,
    fy: 4,
    cx: 1,
    cy: 1,
    width: 3,
    height: 2,
    worldToCamera: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 0, 0, 0, 1],
  });

  it('gives the hand-computed direction and moment through a pixel centre (+0.5)', async () => {
    const rays = pluckerRays(shifted);
    expect(rays.shape).toEqual([2, 3, 6]);
    // pixel (2, 0): centre (2.5, 0.5) → ((2.5 − 1)/2, (0.5 − 1)/4, 1) = (0.75, −0.125, 1), |·| = 1.25623...
    const n = Math.hypot(0.75, -0.125, 1);
    const d = [0.75 / n, -0.125 / n, 1 / n];
    const m = cross([0, 0, -2], d); // = (2·d_y, −2·d_x, 0)
    await expectAllClose(await pixel(rays, 2, 0), [...d, ...m], { atol: 1e-6 });
    rays.dispose();
  });

  it('lays out the 9-channel form as origin, direction, moment', async () => {
    const six = pluckerRays(shifted, { form: 6 });
    const nine = pluckerRays(shifted, { form: 9 });
    expect(nine.shape).toEqual([2, 3, 9]);
    const a = await pixel(nine, 1, 1);
    await expectAllClose(a.slice(0, 3), [0, 0, -2]);
    await expectAllClose(a.slice(3), await pixel(six, 1, 1));
    six.dispose();
    nine.dispose();
  });

  it('gives unit directions whose ray passes through the point unprojected from that pixel', async () => {
    const cam = orbitCameras(3, { radius: 2.5, elevation: 0.3, fov: 0.8, size: [7, 5], target: [0.1, 0.2, 0] })[1]!;
    const rays = pluckerRays(cam);
    const o = cam.center();
    for (const [i, j, depth] of [
      [0, 0, 1.5],
      [6, 4, 2],
      [3, 2, 3.1],
    ] as const) {
      const r = await pixel(rays, i, j);
      const d = r.slice(0, 3);
      expect(Math.hypot(d[0]!, d[1]!, d[2]!)).toBeCloseTo(1, 6);
      const p = cam.unproject(i + 0.5, j + 0.5, depth);
      // p on the ray: p − o ∥ d, and the moment is the same from any point of the line
      const along = Math.hypot(p[0] - o[0], p[1] - o[1], p[2] - o[2]);
      await expectAllClose(
        [p[0] - o[0], p[1] - o[1], p[2] - o[2]],
        d.map((x) => x * along),
        { atol: 1e-5 },
      );
      await expectAllClose(cross(p, d), r.slice(3), { atol: 1e-5 });
      const back = cam.project(p);
      expect(back.u).toBeCloseTo(i + 0.5, 4);
      expect(back.v).toBeCloseTo(j + 0.5, 4);
    }
    rays.dispose();
  });

  it('leaks no tensors', async () => {
    await expectNoLeaks(() => pluckerRays(shifted, { form: 9 }));
  });
});

describe('pluckerRaysBatch', () => {
  it('stacks what pluckerRays gives camera by camera, and matches the float64 formula at 64² to float32 rounding', async () => {
    const cams = orbitCameras(5, { radius: 2.2, elevation: 0.3, fov: 0.8, size: 64, target: [0.1, -0.2, 0.05] });
    const batch = pluckerRaysBatch(cams, { form: 9 });
    expect(batch.shape).toEqual([5, 64, 64, 9]);
    const all = await batch.data();
    let worst = 0;
    for (const [v, cam] of cams.entries()) {
      const one = await pluckerRays(cam, { form: 9 }).data();
      expect(Array.from(all.subarray(v * 64 * 64 * 9, (v + 1) * 64 * 64 * 9))).toEqual(Array.from(one));
      const o = cam.center();
      const r = cam.rotation();
      for (let j = 0; j < 64; j += 7)
        for (let i = 0; i < 64; i += 5) {
          const x = (i + 0.5 - cam.cx) / cam.fx;
          const y = (j + 0.5 - cam.cy) / cam.fy;
          const raw = [r[0]! * x + r[3]! * y + r[6]!, r[1]! * x + r[4]! * y + r[7]!, r[2]! * x + r[5]! * y + r[8]!];
          const n = Math.hypot(raw[0]!, raw[1]!, raw[2]!);
          const d = raw.map((c) => c / n);
          const want = [...o, ...d, ...cross(o, d)];
          const at = ((v * 64 + j) * 64 + i) * 9;
          for (let c = 0; c < 9; c++) worst = Math.max(worst, Math.abs((all[at + c] as number) - (want[c] as number)));
        }
    }
    expect(worst).toBeLessThan(2e-6);
    batch.dispose();
  });

  it('rejects an empty list, a non-camera and cameras of different sizes, naming them; leaks nothing', async () => {
    const [a, b] = orbitCameras(2, { radius: 2, elevation: 0, fov: 0.8, size: 8 });
    const odd = orbitCameras(1, { radius: 2, elevation: 0, fov: 0.8, size: [8, 16] })[0]!;
    expect(() => pluckerRaysBatch([])).toThrow('cameras: expected a non-empty array of Camera, received');
    expect(() => pluckerRaysBatch([a!, {} as Camera])).toThrow('cameras[1]: expected a Camera, received');
    expect(() => pluckerRaysBatch([a!, b!, odd])).toThrow('cameras[2]: expected the size of cameras[0], 8×8, received 8×16');
    expect(() => pluckerRaysBatch([a!], { form: 3 as 6 })).toThrow('form: expected 6 or 9, received 3');
    await expectNoLeaks(() => pluckerRaysBatch([a!, b!]));
  });
});
