import type { ProgramUniform, TensorInfo } from '@tessera/tensor-core';
import { DuplicateProgram } from './duplicate.program.js';
import { PreprocessProgram } from './preprocess.program.js';
import { PRE_COUNT, PRE_STRIDE } from './projection.wgsl.js';
import { radixSortIntersections } from './radix-sort.js';
import { cameraUniforms, type RasterAttrs, tileGrid } from './raster-attrs.js';
import { exclusiveScan, type KernelRunner } from './scan.js';
import { TileRangesProgram } from './tile-ranges.program.js';

/** The Gaussian tensors as a WebGPU kernel receives them. */
export interface GaussianInfos {
  means: TensorInfo;
  logScales: TensorInfo;
  quaternions: TensorInfo;
  opacityLogits: TensorInfo;
  sh: TensorInfo;
}

/** What the forward and backward compositing programs read. The caller disposes every field. */
export interface Binning {
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
export function binGaussians(ctx: KernelRunner, g: GaussianInfos, attrs: RasterAttrs): Binning {
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

/** Frees a binning's buffers. */
export function disposeBinning(ctx: KernelRunner, b: Binning): void {
  for (const info of [b.pre, b.offsets, b.keys, b.ranges]) ctx.dispose(info);
}
