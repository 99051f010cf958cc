import { checkOptions } from '@tessera/tensor-core';
import mesh from 'bunny';
import { cross, dot, norm, normalize, sub, type Vec3 } from '../camera/vec3.js';
import { type Scene, sceneFromArrays } from './scene.js';
import { checkSceneCount, checkSeed, type SurfacePoint, surfaceDiscs, UniformStream } from './surface.js';

/** Options of `bunny`. */
export interface BunnyOptions {
  /** Number of surface Gaussians, at most MAX_SCENE_GAUSSIANS; default 5000. */
  n?: number;
  /** Philox seed of the surface sampling (non-negative integer); default 0. */
  seed?: number;
}

const ALBEDO: Vec3 = [0.85, 0.72, 0.58];
const LIGHT = normalize([0.3, 1, 0.5]);

interface Triangles {
  /** Vertices normalised to the unit box, three per triangle. */
  corners: Vec3[][];
  /** Outward unit normals (the mesh winds counter-clockwise seen from outside). */
  normals: Vec3[];
  /** Running sums of the triangle areas. */
  cumulative: Float64Array;
}

let cached: Triangles | undefined;

/** The bunny mesh centred on its bounding box and scaled so the longest side is 1 (y up). */
function triangles(): Triangles {
  if (cached) return cached;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (const p of mesh.positions) {
    for (let k = 0; k < 3; k++) {
      lo[k] = Math.min(lo[k]!, p[k]!);
      hi[k] = Math.max(hi[k]!, p[k]!);
    }
  }
  const centre = [0, 1, 2].map((k) => (lo[k]! + hi[k]!) / 2);
  const scale = 1 / Math.max(...[0, 1, 2].map((k) => hi[k]! - lo[k]!));
  const unit = mesh.positions.map((p) => [0, 1, 2].map((k) => (p[k]! - centre[k]!) * scale) as Vec3);
  const corners = mesh.cells.map((c) => c.map((i) => unit[i]!));
  const cumulative = new Float64Array(corners.length);
  const normals = corners.map(([a, b, c], t) => {
    const n = cross(sub(b!, a!), sub(c!, a!));
    cumulative[t] = (t > 0 ? cumulative[t - 1]! : 0) + norm(n) / 2;
    return normalize(n);
  });
  cached = { corners, normals, cumulative };
  return cached;
}

/** The first index whose running sum exceeds `x`. */
function search(cumulative: Float64Array, x: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The Stanford bunny (the `bunny` package's mesh, y up) normalised to the unit box — centred, longest
 * side 1 — as `n` flat surface Gaussians: triangles drawn with probability proportional to area, points
 * uniform within a triangle (barycentric (1 − √r₁, √r₁(1 − r₂), √r₁ r₂), Osada et al. 2002, §4.2),
 * discs in the face's plane. Colour is a clay albedo with baked Lambert shading (light from above-front).
 * Uses the seeded Philox stream, so it is deterministic for a seed.
 */
export function bunny(options?: BunnyOptions): Scene {
  const opts = checkOptions(options, ['n', 'seed']);
  const n = checkSceneCount(opts.n ?? 5000);
  const seed = checkSeed(opts.seed ?? 0);
  const { corners, normals, cumulative } = triangles();
  const total = cumulative[cumulative.length - 1]!;
  const u = new UniformStream(seed).next(3 * n);
  const points: SurfacePoint[] = [];
  for (let i = 0; i < n; i++) {
    const t = search(cumulative, u[3 * i]! * total);
    const [a, b, c] = corners[t] as [Vec3, Vec3, Vec3];
    const s = Math.sqrt(u[3 * i + 1]!);
    const r2 = u[3 * i + 2]!;
    const wa = 1 - s;
    const wb = s * (1 - r2);
    const wc = s * r2;
    const normal = normals[t]!;
    const shade = 0.35 + 0.65 * Math.max(0, dot(normal, LIGHT));
    points.push({
      position: [0, 1, 2].map((k) => wa * a[k]! + wb * b[k]! + wc * c[k]!) as Vec3,
      normal,
      color: [ALBEDO[0] * shade, ALBEDO[1] * shade, ALBEDO[2] * shade],
    });
  }
  return sceneFromArrays('bunny', surfaceDiscs(points, total));
}
