import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { Camera } from '../camera/index.js';
import type { Gaussians } from '../gaussians/index.js';
import { MAX_HOST_INTERSECTIONS } from './host.js';
import { rasterizeOp } from './op.js';
import { outputs, outputsReference } from './outputs.js';
import { rasterizePackedReference } from './reference.js';
import { MAX_INTERSECTIONS, type Prepared, prepare, type RasterizeOptions } from './validate.js';

export { MAX_HOST_INTERSECTIONS, MAX_INTERSECTIONS, type RasterizeOptions };

/**
 * A render: `image [h, w, 3]`, expected depth `depth [h, w]` (Σ zαT, not normalised), `alpha [h, w]` = 1 − T.
 * A type alias rather than an interface so that `tf.tidy` accepts it as a tensor container.
 */
export type RasterizeResult = { image: Tensor; depth: Tensor; alpha: Tensor };

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
 * Tiled on every backend (16×16 tiles, per-tile depth-sorted lists): WGSL forward and backward on WebGPU,
 * their typed-array port on cpu and wasm (memory O(N + h·w + intersections)). Under a gradient tape the WebGPU
 * forward's binning stays alive until the backward, which replays it: 76 bytes per Gaussian
 * (projection 64, depth order 12) and 8 per intersection slot (`maxIntersections`, by default min(N·tiles,
 * max(16N, 65536)): 204 MB at 1M Gaussians), in place of binning again in the backward. N = 0 renders the background
 * with zero depth and alpha; a Gaussian with a zero quaternion is not drawn and gets zero gradients.
 */
export function rasterize(gaussians: Gaussians, camera: Camera, opts?: RasterizeOptions): RasterizeResult {
  const p = prepare(gaussians, camera, opts);
  if (p.n === 0) return empty(p);
  // the binning outputs are freed at once: a tape keeps its own references to them until its backward has run
  const [packed, ...binning] = rasterizeOp(p.inputs, p.attrs) as [Tensor, ...Tensor[]];
  tf.dispose(binning);
  const out = outputs(packed, p.background);
  packed.dispose();
  return out;
}

/**
 * The dense tfjs reference of `rasterize` (every Gaussian against every pixel, the tile rule, depth order, skip
 * and stop rules reproduced with masks), differentiable by autodiff on any backend: the oracle for the tiled
 * kernels (WGSL and host). Cost O(N·h·w) memory and N sequential steps — tiny scenes only.
 */
export function rasterizeReference(gaussians: Gaussians, camera: Camera, opts?: RasterizeOptions): RasterizeResult {
  const p = prepare(gaussians, camera, opts);
  if (p.n === 0) return empty(p);
  const packed = rasterizePackedReference(p.inputs, p.attrs);
  const out = outputsReference(packed, p.background);
  packed.dispose();
  return out;
}
