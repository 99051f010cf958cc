import type { ProgramUniform, TensorInfo, WebGPUKernelContext } from '@tessera/tensor-core';
import { CompositeBackwardProgram } from './composite-backward.program.js';
import { CompositeProgram } from './composite.program.js';
import { DuplicateProgram } from './duplicate.program.js';
import { GaussianBackwardProgram } from './gaussian-backward.program.js';
import { PreprocessProgram } from './preprocess.program.js';
import { PRE_COUNT, PRE_STRIDE } from './projection.wgsl.js';
import { radixSortIntersections } from './radix-sort.js';
import { type BackwardInput, cameraUniforms, type GaussianInput, type RasterAttrs, tileGrid } from './raster-attrs.js';
import { exclusiveScan, type KernelRunner } from './scan.js';
import { TileRangesProgram } from './tile-ranges.program.js';

/** The Gaussian tensors as a WebGPU kernel receives them. */
type GaussianInfos = Record<GaussianInput, TensorInfo>;

/** What the forward and backward compositing programs read. The caller disposes every field. */
interface Binning {
  /** `[N, PRE_STRIDE]` preprocess output (projection.wgsl.ts PRE_*). */
  pre: TensorInfo;
  /** `[N + 1]` exclusive scan of the tile counts; the total last. */
  offsets: TensorInfo;
  /** `[capacity, 3]` intersections sorted by (tile, depth). */
  keys: TensorInfo;
  /** `[tiles, 2]` each tile's [start, end) in `keys`. */
  ranges: TensorInfo;
}

/**
 * Preprocess → tile counts → offsets → duplication → radix sort → tile ranges (gsplat's
 * `fully_fused_projection`, `isect_tiles`, `isect_offset_encode`). Deterministic, so the backward
 * rebuilds exactly the lists the forward composited.
 */
function binGaussians(ctx: KernelRunner, g: GaussianInfos, attrs: RasterAttrs): Binning {
  const n = g.means.shape[0] as number;
  const shK = g.sh.shape[1] as number;
  const { tilesX, tilesY } = tileGrid(attrs);
  const tiles = tilesX * tilesY;
  const pre = ctx.run(
    new PreprocessProgram(n),
    [g.means, g.logScales, g.quaternions, g.opacityLogits, g.sh],
    'float32',
    cameraUniforms(attrs, n, shK),
  );
  const offsets = exclusiveScan(ctx, pre, n, PRE_STRIDE, PRE_COUNT);
  const ints = (values: number[]): ProgramUniform[] => values.map((v) => ({ type: 'int32', data: [v] }));
  const unsorted = ctx.run(new DuplicateProgram(attrs.capacity), [pre, offsets], 'int32', ints([n, attrs.capacity, tilesX]));
  const keys = radixSortIntersections(ctx, unsorted, offsets, n, attrs.capacity, tiles);
  const ranges = ctx.run(new TileRangesProgram(tiles), [keys, offsets], 'int32', ints([n, attrs.capacity, tiles]));
  return { pre, offsets, keys, ranges };
}

function disposeBinning(ctx: KernelRunner, b: Binning): void {
  for (const info of [b.pre, b.offsets, b.keys, b.ranges]) ctx.dispose(info);
}

/** Uniforms of the tile programs (TILE_UNIFORMS in composite.program.ts). */
function tileUniforms(attrs: RasterAttrs, n: number): ProgramUniform[] {
  const { tilesX } = tileGrid(attrs);
  return [n, attrs.capacity, attrs.width, attrs.height, tilesX].map((v) => ({ type: 'int32' as const, data: [v] }));
}

/** The WebGPU forward: bin the Gaussians into depth-sorted tile lists, then composite each tile. `[h, w, 5]`. */
export function rasterizeWebGPU(ctx: WebGPUKernelContext<GaussianInput, RasterAttrs>): TensorInfo {
  const { inputs, attrs } = ctx;
  const { tilesX, tilesY } = tileGrid(attrs);
  const binning = binGaussians(ctx, inputs, attrs);
  const n = inputs.means.shape[0] as number;
  const out = ctx.run(
    new CompositeProgram(attrs.height, attrs.width, tilesX * tilesY),
    [binning.pre, binning.keys, binning.ranges, binning.offsets],
    'float32',
    tileUniforms(attrs, n),
  );
  disposeBinning(ctx, binning);
  return out;
}

/**
 * The WebGPU backward: rebuild the forward's tile lists (deterministic, so identical), replay every pixel to
 * get per-intersection partial gradients, then reduce them per Gaussian and chain them back to the inputs.
 * Returns `[N, 11 + 3K]`: ∂means (3), ∂logScales (3), ∂quaternions (4), ∂opacityLogits (1), ∂sh (3K).
 */
export function rasterizeBackwardWebGPU(ctx: WebGPUKernelContext<BackwardInput, RasterAttrs>): TensorInfo {
  const { inputs, attrs } = ctx;
  const { tilesX, tilesY } = tileGrid(attrs);
  const n = inputs.means.shape[0] as number;
  const shK = inputs.sh.shape[1] as number;
  const binning = binGaussians(ctx, inputs, attrs);
  const partials = ctx.run(
    new CompositeBackwardProgram(attrs.capacity, tilesX * tilesY),
    [binning.pre, binning.keys, binning.ranges, binning.offsets, inputs.rendered, inputs.dy],
    'float32',
    tileUniforms(attrs, n),
  );
  const grads = ctx.run(
    new GaussianBackwardProgram(n, shK),
    [inputs.means, inputs.logScales, inputs.quaternions, inputs.opacityLogits, inputs.sh, binning.offsets, partials],
    'float32',
    cameraUniforms(attrs, n, shK),
  );
  ctx.dispose(partials);
  disposeBinning(ctx, binning);
  return grads;
}
