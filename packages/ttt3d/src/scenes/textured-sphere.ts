import { checkOptions } from '@tessera/tensor-core';
import type { Vec3 } from '../camera/vec3.js';
import { type Scene, sceneFromArrays } from './scene.js';
import { checkSceneCount, checkSeed, type SurfacePoint, sphereDirection, surfaceDiscs, UniformStream } from './surface.js';

/** Options of `texturedSphere`. */
export interface TexturedSphereOptions {
  /** Number of surface Gaussians, at most MAX_SCENE_GAUSSIANS; default 2000. */
  n?: number;
  /** Philox seed for the sample positions (non-negative integer); default 0. */
  seed?: number;
}

const RADIUS = 0.6;
const WARM: Vec3 = [0.9, 0.5, 0.1];
const COOL: Vec3 = [0.1, 0.3, 0.8];

/**
 * A sphere of radius 0.6 at the origin covered by `n` flat surface Gaussians at seeded uniform positions,
 * textured with an 8 × 4 longitude–latitude checkerboard of orange and blue, tinted 20% by the normal
 * (0.5 + 0.5·n) so that every view looks different. Deterministic for a seed.
 */
export function texturedSphere(options?: TexturedSphereOptions): Scene {
  const opts = checkOptions(options, ['n', 'seed']);
  const n = checkSceneCount(opts.n ?? 2000);
  const seed = checkSeed(opts.seed ?? 0);
  const u = new UniformStream(seed).next(2 * n);
  const points: SurfacePoint[] = [];
  for (let i = 0; i < n; i++) {
    const d = sphereDirection(u[2 * i]!, u[2 * i + 1]!);
    const lon = Math.atan2(d[2], d[0]) + Math.PI; // [0, 2π]
    const lat = Math.acos(Math.max(-1, Math.min(1, d[1]))); // [0, π]
    const cell = Math.floor((lon / (2 * Math.PI)) * 8) + Math.floor((lat / Math.PI) * 4);
    const base = cell % 2 === 0 ? WARM : COOL;
    points.push({
      position: [RADIUS * d[0], RADIUS * d[1], RADIUS * d[2]],
      normal: d,
      color: [0, 1, 2].map((k) => 0.8 * base[k]! + 0.2 * (0.5 + 0.5 * d[k]!)) as Vec3,
    });
  }
  return sceneFromArrays('textured-sphere', surfaceDiscs(points, 4 * Math.PI * RADIUS * RADIUS));
}
