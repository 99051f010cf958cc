import { checkOptions, checkRange, describeValue, ValueError } from '@tessera/tensor-core';
import { Camera, checkImageSize, checkVec3 } from './camera.js';
import { cross, dot, norm, normalize, type Vec3 } from './vec3.js';

/** Options of `orbitCameras`. */
export interface OrbitOptions {
  /** Distance from the target, > 0. */
  radius: number;
  /** Angle above the plane orthogonal to `up`, radians in (−π/2, π/2). */
  elevation: number;
  /** Vertical field of view, radians in (0, π). */
  fov: number;
  /** Image size: one number for a square image, or [width, height]; integers ≥ 1. */
  size: number | readonly [number, number];
  /** Point every camera looks at; default the origin. */
  target?: readonly number[];
  /** World up direction; default +y ([0, 1, 0]). */
  up?: readonly number[];
}

const ORBIT_KEYS = ['radius', 'elevation', 'fov', 'size', 'target', 'up'] as const;

/** Most cameras `orbitCameras` builds. */
export const MAX_ORBIT_CAMERAS = 100_000;

/**
 * `n` cameras evenly spaced in azimuth on a circle around `target` (camera i at azimuth 2πi/n, measured
 * from the direction of +z made orthogonal to `up`, or +x when `up` is parallel to z, turning right-handed
 * about `up`), all at the same elevation and distance, looking at `target` with `up` up in the image.
 * At most MAX_ORBIT_CAMERAS; sizes are bounded as a `Camera`'s (MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS).
 */
export function orbitCameras(n: number, options: OrbitOptions): Camera[] {
  checkRange(n, { min: 1, max: MAX_ORBIT_CAMERAS, integer: true }, 'n');
  if (options === undefined) throw new ValueError(`opts: expected { ${ORBIT_KEYS.join(', ')} }, received undefined`);
  const opts = checkOptions(options, ORBIT_KEYS);
  const radius = checkRange(opts.radius, { min: 0, minExclusive: true }, 'radius');
  const elevation = checkRange(
    opts.elevation,
    { min: -Math.PI / 2, max: Math.PI / 2, minExclusive: true, maxExclusive: true },
    'elevation',
  );
  const fov = checkRange(opts.fov, { min: 0, max: Math.PI, minExclusive: true, maxExclusive: true }, 'fov');
  const [width, height] = sizeOf(opts.size);
  const target = checkVec3(opts.target ?? [0, 0, 0], 'target');
  const upRaw = checkVec3(opts.up ?? [0, 1, 0], 'up');
  if (norm(upRaw) === 0) throw new ValueError(`up: expected a non-zero direction, received ${describeValue(upRaw)}`);
  const up = normalize(upRaw);
  // azimuth 0 along +z (or +x) with its component along up removed
  const seed: Vec3 = Math.abs(up[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0];
  const along = dot(seed, up);
  const e1 = normalize([seed[0] - along * up[0], seed[1] - along * up[1], seed[2] - along * up[2]]);
  const e2 = cross(up, e1);
  const cosEl = Math.cos(elevation);
  const sinEl = Math.sin(elevation);
  return Array.from({ length: n }, (_, i) => {
    const az = (2 * Math.PI * i) / n;
    const ca = Math.cos(az) * cosEl;
    const sa = Math.sin(az) * cosEl;
    const eye = [0, 1, 2].map((k) => target[k]! + radius * (ca * e1[k]! + sa * e2[k]! + sinEl * up[k]!));
    return Camera.fromLookAt(eye, target, up, { fovY: fov, width, height });
  });
}

function sizeOf(size: unknown): [number, number] {
  if (typeof size === 'number') return checkImageSize(size, size, ['size', 'size']);
  if (Array.isArray(size) && size.length === 2) return checkImageSize(size[0], size[1], ['size[0] (width)', 'size[1] (height)']);
  throw new ValueError(`size: expected an integer ≥ 1 or [width, height], received ${describeValue(size)}`);
}
