import { describe, expect, it } from 'vitest';
import { Camera, orbitCameras } from '../src/camera/index.js';

const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

function identityCamera(over: Partial<ConstructorParameters<typeof Camera>[0]> = {}): Camera {
  return new Camera({ fx: 100, fy: 80, cx: 50, cy: 40, width: 100, height: 80, worldToCamera: IDENTITY, ...over });
}

function expectVecClose(a: readonly number[], b: readonly number[], tol = 1e-6): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    expect(Math.abs(x - b[i]!), `component ${i}: ${x} vs ${b[i]}`).toBeLessThanOrEqual(tol);
  });
}

describe('Camera', () => {
  it('keeps the intrinsics and the matrix it is given', () => {
    const cam = identityCamera();
    expect([cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height]).toEqual([100, 80, 50, 40, 100, 80]);
    expect(Array.from(cam.worldToCamera)).toEqual(IDENTITY);
    expect(cam.rotation()).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(cam.translation()).toEqual([0, 0, 0]);
  });

  it('projects a camera-space point with the pinhole model u = fx·x/z + cx, v = fy·y/z + cy', () => {
    const p = identityCamera().project([1, 2, 4]);
    expect(p).toEqual({ u: 100 * 0.25 + 50, v: 80 * 0.5 + 40, depth: 4 });
  });

  it('applies the world-to-camera translation before projecting', () => {
    const m = [...IDENTITY];
    m[3] = 1; // camera space x = world x + 1, so the camera sits at world x = −1
    const cam = identityCamera({ worldToCamera: m });
    expect(cam.project([0, 0, 2]).u).toBe(100 * 0.5 + 50);
    expect(cam.center()).toEqual([-1, 0, 0]);
  });

  it('unprojects a pixel at a depth back to the point that projects there', () => {
    const cam = Camera.fromLookAt([1.5, -2, 3], [0.1, 0.2, -0.3], [0, 0, 1], { fovY: 0.8, width: 64, height: 48 });
    for (const point of [
      [0, 0, 0],
      [0.3, -0.7, 0.2],
      [-1, 1, -1],
    ]) {
      const { u, v, depth } = cam.project(point);
      expect(depth).toBeGreaterThan(0);
      expectVecClose(cam.unproject(u, v, depth), point, 1e-5);
    }
  });
});

describe('Camera rotation tolerance', () => {
  it('accepts a rotation block within the 1e-4 tolerance', () => {
    const nearly = [...IDENTITY];
    nearly[1] = 5e-5;
    expect(identityCamera({ worldToCamera: nearly }).worldToCamera[1]).toBeCloseTo(5e-5, 10);
  });
});

describe('Camera.fromLookAt', () => {
  it('builds the hand-computed OpenCV pose for a camera on −z looking at the origin with +y up', () => {
    const cam = Camera.fromLookAt([0, 0, -5], [0, 0, 0], [0, 1, 0], { fovY: Math.PI / 2, width: 20, height: 10 });
    // forward +z; right = forward × up = −x; down = forward × right = −y; t = −R·eye
    expect(Array.from(cam.worldToCamera)).toEqual([-1, 0, 0, -0, 0, -1, 0, -0, 0, 0, 1, 5, 0, 0, 0, 1]);
    expectVecClose([cam.fx, cam.fy, cam.cx, cam.cy], [5, 5, 10, 5], 1e-12); // fy = (h/2)/tan(45°)
    expectVecClose(cam.center(), [0, 0, -5]);
  });

  it('puts the target at the principal point and up above it in the image', () => {
    const cam = Camera.fromLookAt([2, 1, 3], [0.5, 0, 0], [0, 0, 1], { fovY: 1, width: 32, height: 32 });
    const t = cam.project([0.5, 0, 0]);
    expect(t.u).toBeCloseTo(16, 5);
    expect(t.v).toBeCloseTo(16, 5);
    expect(t.depth).toBeCloseTo(Math.hypot(1.5, 1, 3), 5);
    expect(cam.project([0.5, 0, 0.1]).v).toBeLessThan(16);
  });

  it('takes focal lengths in pixels instead of a field of view', () => {
    const cam = Camera.fromLookAt([0, 0, -1], [0, 0, 0], [0, 1, 0], { fx: 30, width: 8, height: 6, cx: 1, cy: 2 });
    expect([cam.fx, cam.fy, cam.cx, cam.cy]).toEqual([30, 30, 1, 2]);
  });
});

describe('Camera.toJSON / Camera.fromJSON', () => {
  it('round-trips through JSON text exactly', () => {
    const cam = Camera.fromLookAt([0.3, 1.7, -2.9], [0.1, 0, 0.2], [0, 1, 0], { fovY: 0.7, width: 33, height: 17 });
    const back = Camera.fromJSON(JSON.parse(JSON.stringify(cam)));
    expect(back.toJSON()).toEqual(cam.toJSON());
    expect(back.worldToCamera).toEqual(cam.worldToCamera);
  });
});

describe('orbitCameras', () => {
  const opts = { radius: 3, elevation: 0.4, fov: 0.9, size: [40, 30] as [number, number], target: [0.2, -0.1, 0.3] };

  it('places n cameras at the given radius and elevation, evenly spaced in azimuth', () => {
    const cams = orbitCameras(6, opts);
    expect(cams).toHaveLength(6);
    const rel = cams.map((c) => {
      const e = c.center();
      return [e[0] - 0.2, e[1] + 0.1, e[2] - 0.3] as const;
    });
    for (const r of rel) {
      expect(Math.hypot(...r)).toBeCloseTo(3, 5);
      expect(r[1]).toBeCloseTo(3 * Math.sin(0.4), 5); // height along +y (default up)
    }
    const azimuths = rel.map((r) => Math.atan2(r[0], r[2]));
    for (let i = 0; i < 6; i++) {
      const step = (((azimuths[(i + 1) % 6]! - azimuths[i]!) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
      expect(step).toBeCloseTo(Math.PI / 3, 5);
    }
    expect(azimuths[0]).toBeCloseTo(0, 6); // camera 0 on +z
  });

  it('aims every camera at the target with up pointing up in the image', () => {
    for (const cam of orbitCameras(5, { ...opts, up: [0, 0, 1] })) {
      expect([cam.width, cam.height]).toEqual([40, 30]);
      const t = cam.project(opts.target);
      expect(t.u).toBeCloseTo(20, 4);
      expect(t.v).toBeCloseTo(15, 4);
      expect(cam.project([0.2, -0.1, 0.5]).v).toBeLessThan(15);
    }
  });

  it('accepts a single number for a square size', () => {
    const [cam] = orbitCameras(1, { radius: 1, elevation: 0, fov: 1, size: 16 });
    expect([cam!.width, cam!.height]).toEqual([16, 16]);
  });
});
