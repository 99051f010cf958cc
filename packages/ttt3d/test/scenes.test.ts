import { expectNoLeaks } from '@tessera/tensor-core/testing';
import mesh from 'bunny';
import { describe, expect, it } from 'vitest';
import { dcToRgb } from '../src/gaussians/index.js';
import { bunny, coloredPrimitives, type Scene, texturedSphere, threeGaussians } from '../src/scenes/index.js';

type V = readonly number[];
const sub = (a: V, b: V): number[] => [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
const dot = (a: V, b: V): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
const cross = (a: V, b: V): [number, number, number] => [
  a[1]! * b[2]! - a[2]! * b[1]!,
  a[2]! * b[0]! - a[0]! * b[2]!,
  a[0]! * b[1]! - a[1]! * b[0]!,
];

/** The bunny package's triangles, centred on their bounding box and scaled to longest side 1. */
function unitMesh(): { corners: [number[], number[], number[]][] } {
  const lo = [0, 1, 2].map((k) => Math.min(...mesh.positions.map((p) => p[k]!)));
  const hi = [0, 1, 2].map((k) => Math.max(...mesh.positions.map((p) => p[k]!)));
  const scale = Math.max(...[0, 1, 2].map((k) => hi[k]! - lo[k]!));
  const unit = mesh.positions.map((p) => p.map((v, k) => (v - (lo[k]! + hi[k]!) / 2) / scale));
  return { corners: mesh.cells.map((c) => c.map((i) => unit[i]!) as [number[], number[], number[]]) };
}

interface HostScene {
  means: Float32Array;
  logScales: Float32Array;
  quaternions: Float32Array;
  opacityLogits: Float32Array;
  sh: Float32Array;
}

/** Reads a scene's tensors and disposes them. */
async function host(scene: Scene): Promise<HostScene> {
  const g = scene.gaussians;
  const out = {
    means: (await g.means.data()) as Float32Array,
    logScales: (await g.logScales.data()) as Float32Array,
    quaternions: (await g.quaternions.data()) as Float32Array,
    opacityLogits: (await g.opacityLogits.data()) as Float32Array,
    sh: (await g.sh.data()) as Float32Array,
  };
  g.dispose();
  return out;
}

/** Rotates +z by the unit quaternion (w, x, y, z): the third column of R(q) (papers/ttt3d.md §3.1). */
function rotatedZ(q: ArrayLike<number>, i: number): [number, number, number] {
  const [w, x, y, z] = [q[4 * i]!, q[4 * i + 1]!, q[4 * i + 2]!, q[4 * i + 3]!];
  return [2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)];
}

/** Every mean lies inside the bounds, extended by 3σ of its largest axis. */
function expectInsideBounds(scene: Scene, h: HostScene): void {
  const { min, max } = scene.bounds;
  const n = h.opacityLogits.length;
  for (let i = 0; i < n; i++) {
    const reach = 3 * Math.exp(Math.max(h.logScales[3 * i]!, h.logScales[3 * i + 1]!, h.logScales[3 * i + 2]!));
    for (let k = 0; k < 3; k++) {
      expect(h.means[3 * i + k]! - reach).toBeGreaterThanOrEqual(min[k]! - 1e-6);
      expect(h.means[3 * i + k]! + reach).toBeLessThanOrEqual(max[k]! + 1e-6);
    }
  }
}

describe('threeGaussians', () => {
  it('holds three Gaussians coloured red, green and blue, inside its bounds', async () => {
    const scene = threeGaussians();
    expect([scene.name, scene.gaussians.count, scene.gaussians.shDegree]).toEqual(['three-gaussians', 3, 0]);
    const h = await host(scene);
    const rgb = Array.from(h.sh, dcToRgb);
    expect(rgb[0]).toBeGreaterThan(0.8); // red
    expect(rgb[4]).toBeGreaterThan(0.8); // green
    expect(rgb[8]).toBeGreaterThan(0.8); // blue
    expectInsideBounds(scene, h);
  });
});

describe('coloredPrimitives', () => {
  it('has n surface Gaussians inside its bounds, within ±1', async () => {
    const scene = coloredPrimitives({ seed: 3, n: 401 });
    expect([scene.name, scene.gaussians.count]).toEqual(['colored-primitives', 401]);
    const h = await host(scene);
    expectInsideBounds(scene, h);
    for (const v of h.means) expect(Math.abs(v)).toBeLessThan(1);
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const a = await host(coloredPrimitives({ seed: 7, n: 200 }));
    const b = await host(coloredPrimitives({ seed: 7, n: 200 }));
    const c = await host(coloredPrimitives({ seed: 8, n: 200 }));
    expect(b).toEqual(a);
    expect(c.means).not.toEqual(a.means);
  });
});

describe('texturedSphere', () => {
  it('puts n discs on the radius-0.6 sphere, each facing along its outward normal', async () => {
    const scene = texturedSphere({ n: 300, seed: 2 });
    expect([scene.name, scene.gaussians.count]).toEqual(['textured-sphere', 300]);
    const h = await host(scene);
    for (let i = 0; i < 300; i++) {
      const p = [h.means[3 * i]!, h.means[3 * i + 1]!, h.means[3 * i + 2]!];
      const r = Math.hypot(...p);
      expect(r).toBeCloseTo(0.6, 5);
      const z = rotatedZ(h.quaternions, i);
      for (let k = 0; k < 3; k++) expect(z[k]).toBeCloseTo(p[k]! / r, 5);
      // a flat disc: the local z axis (the normal) is the thin one
      expect(h.logScales[3 * i + 2]).toBeCloseTo(h.logScales[3 * i]! + Math.log(0.1), 5);
    }
    expectInsideBounds(scene, h);
  });

  it('is deterministic for a seed, and uses both checker colours', async () => {
    const a = await host(texturedSphere({ n: 100, seed: 5 }));
    expect(await host(texturedSphere({ n: 100, seed: 5 }))).toEqual(a);
    const reds = Array.from({ length: 100 }, (_, i) => dcToRgb(a.sh[3 * i]!));
    expect(Math.max(...reds)).toBeGreaterThan(0.7);
    expect(Math.min(...reds)).toBeLessThan(0.3);
  });
});

describe('bunny', () => {
  it('samples n points on the mesh normalised to the unit box (centred, longest side 1)', async () => {
    const scene = bunny({ n: 2000, seed: 1 });
    expect([scene.name, scene.gaussians.count]).toEqual(['bunny', 2000]);
    const h = await host(scene);
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < 2000; i++) {
      for (let k = 0; k < 3; k++) {
        lo[k] = Math.min(lo[k]!, h.means[3 * i + k]!);
        hi[k] = Math.max(hi[k]!, h.means[3 * i + k]!);
      }
    }
    for (let k = 0; k < 3; k++) {
      expect(lo[k]).toBeGreaterThanOrEqual(-0.5 - 1e-6);
      expect(hi[k]).toBeLessThanOrEqual(0.5 + 1e-6);
    }
    // with 2000 samples the sampled extent nearly reaches the mesh's along its longest axis (x)
    expect(Math.max(...[0, 1, 2].map((k) => hi[k]! - lo[k]!))).toBeGreaterThan(0.9);
    expectInsideBounds(scene, h);
  });

  it('draws triangles in proportion to area: the sample centroid matches the surface centroid', async () => {
    // area-weighted surface centroid of the normalised mesh; an unweighted (per-triangle) draw lands ≈ 0.006 away in y and z
    const { corners } = unitMesh();
    let area = 0;
    const centroid = [0, 0, 0];
    for (const [a, b, c] of corners) {
      const n = cross(sub(b, a), sub(c, a));
      const A = Math.hypot(...n) / 2;
      area += A;
      for (let k = 0; k < 3; k++) centroid[k]! += (A * (a[k]! + b[k]! + c[k]!)) / 3;
    }
    const n = 20000;
    const h = await host(bunny({ n, seed: 11 }));
    for (let k = 0; k < 3; k++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += h.means[3 * i + k]! / n;
      expect(Math.abs(mean - centroid[k]! / area)).toBeLessThan(0.004);
    }
  });

  it('orients every disc along the normal of a face it lies on, and is deterministic for a seed', async () => {
    const { corners } = unitMesh();
    const normals = corners.map(([a, b, c]) => {
      const n = cross(sub(b, a), sub(c, a));
      const len = Math.hypot(...n);
      return n.map((v) => v / len);
    });
    const a = await host(bunny({ n: 200, seed: 4 }));
    for (let i = 0; i < 200; i++) {
      const p = [a.means[3 * i]!, a.means[3 * i + 1]!, a.means[3 * i + 2]!];
      const z = rotatedZ(a.quaternions, i);
      // some face contains p (on its plane, inside its edges) and has the disc's normal
      const found = corners.some(([v0, v1, v2], t) => {
        const nt = normals[t]!;
        if (Math.abs(dot(sub(p, v0), nt)) > 1e-5) return false;
        const inside = [
          [v0, v1],
          [v1, v2],
          [v2, v0],
        ].every(([e0, e1]) => dot(cross(sub(e1!, e0!), sub(p, e0!)), nt) >= -1e-6);
        return inside && Math.hypot(z[0] - nt[0]!, z[1] - nt[1]!, z[2] - nt[2]!) < 1e-4;
      });
      expect(found, `disc ${i} at [${p.join(', ')}]`).toBe(true);
    }
    expect(await host(bunny({ n: 200, seed: 4 }))).toEqual(a);
    expect((await host(bunny({ n: 200, seed: 5 }))).means).not.toEqual(a.means);
  });

  it('leaks no tensors beyond the returned Gaussians', async () => {
    await expectNoLeaks(() => bunny({ n: 50 }).gaussians.toTensors());
    await expectNoLeaks(() => threeGaussians().gaussians.toTensors());
  });
});
