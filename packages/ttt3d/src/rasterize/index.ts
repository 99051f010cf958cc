import { checkDtype, checkRange, checkShape, describeValue, ShapeError, tf, ValueError } from '@tessera/tensor-core';
import type { Dims, Tensor } from '@tessera/tensor-core';
import type { Camera } from '../camera/index.js';
import type { Gaussians } from '../gaussians/index.js';
import { TILE_SIZE } from './constants.js';
import { GAUSSIAN_INPUTS } from './forward-kernel.js';
import { rasterizeOp } from './op.js';
import { type RasterAttrs, rasterAttrs } from './raster-attrs.js';
import type { RasterInputs } from './reference-project.js';
import { rasterizePackedReference } from './reference.js';

/** Options of `rasterize` and `rasterizeReference`. */
export interface RasterizeOptions {
  /** Output size in pixels; default the camera's. The intrinsics are used as given. */
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
   * bounded by the device's largest storage binding.
   */
  maxIntersections?: number;
}

/**
 * A render: `image [h, w, 3]`, expected depth `depth [h, w]` (Σ zαT, not normalised), `alpha [h, w]` = 1 − T.
 * A type alias rather than an interface so that `tf.tidy` accepts it as a tensor container.
 */
export type RasterizeResult = { image: Tensor; depth: Tensor; alpha: Tensor };

/** Bytes per intersection in the largest buffer (the backward's per-intersection partial gradients). */
const BYTES_PER_INTERSECTION = 40;

function maxStorageBinding(): number | undefined {
  const backend = tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } };
  return backend.device?.limits?.maxStorageBufferBindingSize;
}

function defaultCapacity(n: number, tiles: number): number {
  let capacity = Math.min(n * tiles, Math.max(16 * n, 65536));
  const binding = maxStorageBinding();
  if (binding !== undefined) capacity = Math.min(capacity, Math.floor(binding / BYTES_PER_INTERSECTION));
  return Math.max(1, capacity);
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

function checkGaussians(g: Gaussians): { inputs: RasterInputs; degree: number } {
  if (g === null || typeof g !== 'object') {
    throw new ValueError(`gaussians: expected a Gaussians, received ${describeValue(g)}`);
  }
  const dims: Dims = {};
  const specs: Record<(typeof GAUSSIAN_INPUTS)[number], (string | number)[]> = {
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
  const inputs: RasterInputs = {
    means: g.means,
    logScales: g.logScales,
    quaternions: g.quaternions,
    opacityLogits: g.opacityLogits,
    sh: g.sh,
  };
  return { inputs, degree };
}

interface Prepared {
  inputs: RasterInputs;
  attrs: RasterAttrs;
  background: [number, number, number];
  n: number;
}

function prepare(g: Gaussians, camera: Camera, opts: RasterizeOptions): Prepared {
  if (opts === null || typeof opts !== 'object') {
    throw new ValueError(`opts: expected { width?, height?, background?, shDegree?, maxIntersections? }, received ${describeValue(opts)}`);
  }
  checkCamera(camera);
  const { inputs, degree } = checkGaussians(g);
  const width = checkRange(opts.width ?? camera.width, { min: 1, integer: true }, 'width');
  const height = checkRange(opts.height ?? camera.height, { min: 1, integer: true }, 'height');
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
      : checkRange(opts.maxIntersections, { min: 1, integer: true }, 'maxIntersections');
  return { inputs, attrs: rasterAttrs(camera, width, height, shDegree, capacity), background, n };
}

function finish(packed: Tensor, background: [number, number, number]): RasterizeResult {
  return tf.tidy(() => {
    const [h, w] = packed.shape as [number, number, number];
    const color = tf.slice(packed, [0, 0, 0], [h, w, 3]);
    const depth = tf.reshape(tf.slice(packed, [0, 0, 3], [h, w, 1]), [h, w]);
    const trans = tf.slice(packed, [0, 0, 4], [h, w, 1]);
    const image = tf.add(color, tf.mul(trans, tf.tensor1d(background)));
    return { image, depth, alpha: tf.reshape(tf.sub(1, trans), [h, w]) };
  });
}

function empty(p: Prepared): RasterizeResult {
  const { width, height } = p.attrs;
  return tf.tidy(() => ({
    image: tf.mul(tf.ones([height, width, 1]), tf.tensor1d(p.background)),
    depth: tf.zeros([height, width]),
    alpha: tf.zeros([height, width]),
  }));
}

/**
 * Renders N Gaussians from `camera` with gsplat's rules (papers/ttt3d.md §4; Kerbl et al. 2023 Eq. 2–3 for
 * C = Σ cᵢαᵢ∏(1−αⱼ)): `image [h, w, 3]` = Σ cαT + T·background, `depth [h, w]` = Σ zαT, `alpha [h, w]` = 1 − T.
 * Differentiable with respect to every Gaussian tensor (means, logScales, quaternions, opacityLogits, sh).
 * On WebGPU this runs the tiled WGSL forward and backward; on other backends the dense reference.
 * N = 0 renders the background with zero depth and alpha.
 */
export function rasterize(gaussians: Gaussians, camera: Camera, opts: RasterizeOptions = {}): RasterizeResult {
  const p = prepare(gaussians, camera, opts);
  if (p.n === 0) return empty(p);
  const packed = rasterizeOp(p.inputs, p.attrs);
  const out = finish(packed, p.background);
  packed.dispose();
  return out;
}

/**
 * The dense tfjs reference of `rasterize` (every Gaussian against every pixel, the tile rule, depth order, skip
 * and stop rules reproduced with masks), differentiable by autodiff on any backend: the oracle for the WGSL
 * kernels. Cost O(N·h·w) in N sequential steps — tiny scenes only.
 */
export function rasterizeReference(gaussians: Gaussians, camera: Camera, opts: RasterizeOptions = {}): RasterizeResult {
  const p = prepare(gaussians, camera, opts);
  if (p.n === 0) return empty(p);
  const packed = rasterizePackedReference(p.inputs, p.attrs);
  const out = finish(packed, p.background);
  packed.dispose();
  return out;
}
