import { checkOptions } from '@tessera/tensor-core';
import type { Vec3 } from '../camera/vec3.js';
import { type Scene, sceneFromArrays } from './scene.js';
import { checkSceneCount, checkSeed, concatArrays, type SurfacePoint, sphereDirection, surfaceDiscs, UniformStream } from './surface.js';

/** Options of `coloredPrimitives`. */
export interface ColoredPrimitivesOptions {
  /** Philox seed (non-negative integer); default 0. */
  seed?: number;
  /** Total number of surface Gaussians, shared by area, at most MAX_SCENE_GAUSSIANS; default 3000. */
  n?: number;
}

/** Brightness of the six cube faces (+x, −x, +y, −y, +z, −z), so edges stay visible without lighting. */
const FACE_SHADE = [1, 0.7, 0.95, 0.6, 0.85, 0.75];

interface Primitive {
  kind: 'sphere' | 'cube';
  center: Vec3;
  /** Sphere radius or cube half-side. */
  size: number;
  color: Vec3;
}

function area(p: Primitive): number {
  return p.kind === 'sphere' ? 4 * Math.PI * p.size * p.size : 24 * p.size * p.size;
}

function sample(p: Primitive, u: Float32Array): SurfacePoint[] {
  const out: SurfacePoint[] = [];
  for (let i = 0; i < u.length / 3; i++) {
    const [a, b, c] = [u[3 * i]!, u[3 * i + 1]!, u[3 * i + 2]!];
    let normal: Vec3;
    let local: Vec3;
    let shade: number;
    if (p.kind === 'sphere') {
      normal = sphereDirection(a, b);
      local = [normal[0] * p.size, normal[1] * p.size, normal[2] * p.size];
      shade = 0.75 + 0.25 * normal[1];
    } else {
      const face = Math.min(5, Math.floor(6 * a));
      const axis = face >> 1;
      const sign = face % 2 === 0 ? 1 : -1;
      normal = [0, 0, 0];
      normal[axis] = sign;
      local = [0, 0, 0];
      local[axis] = sign * p.size;
      local[(axis + 1) % 3] = (2 * b - 1) * p.size;
      local[(axis + 2) % 3] = (2 * c - 1) * p.size;
      shade = FACE_SHADE[face]!;
    }
    out.push({
      position: [p.center[0] + local[0], p.center[1] + local[1], p.center[2] + local[2]],
      normal,
      color: [p.color[0] * shade, p.color[1] * shade, p.color[2] * shade],
    });
  }
  return out;
}

/**
 * Two spheres and two cubes made of flat surface Gaussians (discs in the tangent plane), placed around a
 * ring of radius 0.5 about the y axis with random heights, sizes (0.15–0.3) and colours drawn from the
 * seeded Philox stream; the `n` Gaussians are shared in proportion to surface area. Within about ±0.9.
 * Deterministic for a seed.
 */
export function coloredPrimitives(options?: ColoredPrimitivesOptions): Scene {
  const opts = checkOptions(options, ['seed', 'n']);
  const seed = checkSeed(opts.seed ?? 0);
  const n = checkSceneCount(opts.n ?? 3000);
  const rng = new UniformStream(seed);
  const kinds = ['sphere', 'cube', 'sphere', 'cube'] as const;
  const prims: Primitive[] = kinds.map((kind, i) => {
    const [jitter, height, size, r, g, b] = Array.from(rng.next(6));
    const theta = (2 * Math.PI * (i + 0.3 * (jitter! - 0.5))) / kinds.length;
    return {
      kind,
      center: [0.5 * Math.cos(theta), 0.4 * (height! - 0.5), 0.5 * Math.sin(theta)],
      size: 0.15 + 0.15 * size!,
      color: [0.1 + 0.8 * r!, 0.1 + 0.8 * g!, 0.1 + 0.8 * b!],
    };
  });
  const areas = prims.map(area);
  const totalArea = areas.reduce((s, a) => s + a, 0);
  let left = n;
  const parts = prims.map((p, i) => {
    const count = i === prims.length - 1 ? left : Math.round((n * areas[i]!) / totalArea);
    left -= count;
    return surfaceDiscs(sample(p, rng.next(3 * count)), areas[i]!);
  });
  return sceneFromArrays('colored-primitives', concatArrays(parts));
}
