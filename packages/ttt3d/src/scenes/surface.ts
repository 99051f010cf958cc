import { checkRange, philoxUniformArray } from '@tessera/tensor-core';
import { normalize, type Vec3 } from '../camera/vec3.js';
import type { SceneArrays } from './scene.js';

/** Ratio of a surface disc's thickness (its local z) to its radius. */
const DISC_THICKNESS = 0.1;
/** Opacity of every surface disc. */
const DISC_OPACITY = 0.9;

/**
 * Most Gaussians a procedural scene builds (`n`): each sample is built on the host as JavaScript objects
 * before upload, so the count is bounded before anything is allocated.
 */
export const MAX_SCENE_GAUSSIANS = 2_000_000;

/** Checks the `n` option of a scene: an integer in [1, MAX_SCENE_GAUSSIANS]. */
export function checkSceneCount(n: number): number {
  return checkRange(n, { min: 1, max: MAX_SCENE_GAUSSIANS, integer: true }, 'n');
}

/** Checks the `seed` option of a scene: a non-negative safe integer (a Philox key). */
export function checkSeed(seed: number): number {
  return checkRange(seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'seed');
}

/** A stream of Philox uniforms in [0, 1) for one scene, drawn in blocks. */
export class UniformStream {
  private offset = 0;

  constructor(private readonly seed: number) {}

  /** The next `n` numbers of the stream. */
  next(n: number): Float32Array {
    const out = philoxUniformArray(n, this.seed, this.offset);
    this.offset += n;
    return out;
  }
}

/**
 * The unit quaternion (w, x, y, z) turning +z onto the unit vector `n`: half-way construction
 * q ∝ (1 + z·n, z × n); for n = −z, the half turn about x.
 */
export function quaternionFromZ(n: readonly number[]): [number, number, number, number] {
  const w = 1 + n[2]!;
  if (w < 1e-8) return [0, 1, 0, 0];
  const len = Math.hypot(w, n[1]!, n[0]!);
  return [w / len, -n[1]! / len, n[0]! / len, 0];
}

/** A surface sample: position, outward unit normal and colour. */
export interface SurfacePoint {
  position: Vec3;
  normal: Vec3;
  color: Vec3;
}

/**
 * Flat Gaussian discs for surface samples of a surface of area `area`: each lies in the tangent plane
 * (its local z along the normal), with radius σ = √(area / n), so n discs tile the surface with overlap,
 * and a thickness of σ/10.
 */
export function surfaceDiscs(points: readonly SurfacePoint[], area: number): SceneArrays {
  const n = points.length;
  const sigma = Math.sqrt(area / Math.max(n, 1));
  const a: SceneArrays = {
    means: new Float32Array(3 * n),
    scales: new Float32Array(3 * n),
    quaternions: new Float32Array(4 * n),
    opacities: new Float32Array(n).fill(DISC_OPACITY),
    colors: new Float32Array(3 * n),
  };
  points.forEach((p, i) => {
    a.means.set(p.position, 3 * i);
    a.scales.set([sigma, sigma, sigma * DISC_THICKNESS], 3 * i);
    a.quaternions.set(quaternionFromZ(p.normal), 4 * i);
    a.colors.set(p.color, 3 * i);
  });
  return a;
}

/** Concatenates scene arrays in order. */
export function concatArrays(parts: readonly SceneArrays[]): SceneArrays {
  const cat = (key: keyof SceneArrays): Float32Array => {
    const out = new Float32Array(parts.reduce((s, p) => s + p[key].length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p[key], at);
      at += p[key].length;
    }
    return out;
  };
  return {
    means: cat('means'),
    scales: cat('scales'),
    quaternions: cat('quaternions'),
    opacities: cat('opacities'),
    colors: cat('colors'),
  };
}

/** A uniform direction on the unit sphere from two uniforms (Archimedes: z uniform in [−1, 1]). */
export function sphereDirection(u: number, v: number): Vec3 {
  const z = 1 - 2 * u;
  const r = Math.sqrt(Math.max(0, 1 - z * z));
  const phi = 2 * Math.PI * v;
  return normalize([r * Math.cos(phi), r * Math.sin(phi), z]);
}
