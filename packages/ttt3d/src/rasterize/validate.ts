import { checkDtype, checkOptions, checkRange, checkShape, describeValue, ShapeError, ValueError } from '@tessera/tensor-core';
import type { Dims, Tensor } from '@tessera/tensor-core';
import { type Camera, checkImageSize } from '../camera/camera.js';
import type { Gaussians } from '../gaussians/index.js';
import { TILE_SIZE } from './constants.js';
import { GAUSSIAN_INPUTS, type GaussianInput, type RasterAttrs, rasterAttrs } from './raster-attrs.js';
import { maxStorageBinding } from './storage-bindings.js';

/** Options of `rasterize` and `rasterizeReference`. */
export interface RasterizeOptions {
  /** Output size in pixels; default the camera's. The intrinsics are used as given. At most MAX_IMAGE_SIDE. */
  width?: number;
  height?: number;
  /** RGB blended behind the splats: C + T·background. Default black. */
  background?: readonly number[];
  /** SH degree to evaluate, 0 ≤ shDegree ≤ the Gaussians' degree; default the Gaussians' degree. */
  shDegree?: number;
  /**
   * WebGPU only: how many Gaussian–tile intersections the sort buffers hold. The count is data-dependent and
   * WebGPU in Node cannot read it back synchronously, so a render whose count exceeds this comes back as NaN
   * (image, depth, alpha and gradients) rather than silently wrong. Default: min(N·tiles, max(16·N, 65536)),
   * bounded by the device's largest storage binding; at most MAX_INTERSECTIONS (and that binding). The
   * cpu and wasm kernels size their lists exactly and ignore it.
   */
  maxIntersections?: number;
}

const RASTERIZE_OPTIONS = ['width', 'height', 'background', 'shDegree', 'maxIntersections'] as const;

/** Largest `maxIntersections`: the WGSL kernels index the intersection list with i32. */
export const MAX_INTERSECTIONS = 2 ** 31 - 1;

/** Bytes per intersection in the largest buffer (the backward's per-intersection partial gradients). */
const BYTES_PER_INTERSECTION = 40;

/** What `rasterize` hands the op: the tensors, the attributes, and the background the output ops blend. */
export interface Prepared {
  inputs: Record<GaussianInput, Tensor>;
  attrs: RasterAttrs;
  background: [number, number, number];
  n: number;
}

function capacityLimit(): number {
  const binding = maxStorageBinding();
  return binding === undefined ? MAX_INTERSECTIONS : Math.min(MAX_INTERSECTIONS, Math.floor(binding / BYTES_PER_INTERSECTION));
}

function defaultCapacity(n: number, tiles: number): number {
  return Math.max(1, Math.min(n * tiles, Math.max(16 * n, 65536), capacityLimit()));
}

function checkCamera(camera: Camera): void {
  if (camera === null || typeof camera !== 'object') {
    throw new ValueError(`camera: expected a Camera, received ${describeValue(camera)}`);
  }
  checkRange(camera.fx, { min: 0, minExclusive: true }, 'camera.fx');
  checkRange(camera.fy, { min: 0, minExclusive: true }, 'camera.fy');
  checkRange(camera.cx, {}, 'camera.cx');
  checkRange(camera.cy, {}, 'camera.cy');
  const m = camera.worldToCamera;
  if (m === null || typeof m !== 'object' || (m as ArrayLike<number>).length !== 16) {
    throw new ValueError(`camera.worldToCamera: expected 16 numbers (a row-major 4×4), received ${describeValue(m)}`);
  }
  for (let i = 0; i < 16; i++) {
    if (!Number.isFinite(m[i])) {
      throw new ValueError(`camera.worldToCamera[${i}]: expected a finite number, received ${describeValue(m[i])}`);
    }
  }
}

function checkGaussians(g: Gaussians): { inputs: Record<GaussianInput, Tensor>; degree: number } {
  if (g === null || typeof g !== 'object') {
    throw new ValueError(`gaussians: expected a Gaussians, received ${describeValue(g)}`);
  }
  const dims: Dims = {};
  const specs: Record<GaussianInput, (string | number)[]> = {
    means: ['N', 3],
    logScales: ['N', 3],
    quaternions: ['N', 4],
    opacityLogits: ['N'],
    sh: ['N', 'K', 3],
  };
  for (const name of GAUSSIAN_INPUTS) {
    const t = g[name];
    checkShape(t, specs[name], `gaussians.${name}`, dims);
    checkDtype(t, 'float32', `gaussians.${name}`);
  }
  const k = dims.K as number;
  const degree = Math.round(Math.sqrt(k)) - 1;
  if (degree < 0 || degree > 3 || (degree + 1) * (degree + 1) !== k) {
    throw new ShapeError(`gaussians.sh: expected (degree + 1)² = 1, 4, 9 or 16 coefficients, received shape [${g.sh.shape.join(', ')}]`);
  }
  const inputs = { means: g.means, logScales: g.logScales, quaternions: g.quaternions, opacityLogits: g.opacityLogits, sh: g.sh };
  return { inputs, degree };
}

/** Checks every argument of `rasterize` / `rasterizeReference` (errors name it) and builds the op's attributes. */
export function prepare(g: Gaussians, camera: Camera, options: RasterizeOptions | undefined): Prepared {
  const opts = checkOptions(options, RASTERIZE_OPTIONS);
  checkCamera(camera);
  const { inputs, degree } = checkGaussians(g);
  const [width, height] = checkImageSize(opts.width ?? camera.width, opts.height ?? camera.height);
  const shDegree = checkRange(
    opts.shDegree ?? degree,
    { min: 0, max: degree, integer: true, hint: "at most the Gaussians' SH degree" },
    'shDegree',
  );
  const bg = opts.background ?? [0, 0, 0];
  if (!Array.isArray(bg) || bg.length !== 3) {
    throw new ValueError(`background: expected 3 finite numbers [r, g, b], received ${describeValue(bg)}`);
  }
  const background = bg.map((v, i) => checkRange(v, {}, `background[${i}]`)) as [number, number, number];
  const n = inputs.means.shape[0] as number;
  const tiles = Math.ceil(width / TILE_SIZE) * Math.ceil(height / TILE_SIZE);
  const capacity =
    opts.maxIntersections === undefined
      ? defaultCapacity(n, tiles)
      : checkRange(
          opts.maxIntersections,
          { min: 1, max: capacityLimit(), integer: true, hint: "the device's largest storage binding / 40 bytes" },
          'maxIntersections',
        );
  return { inputs, attrs: rasterAttrs(camera, width, height, shDegree, capacity), background, n };
}
