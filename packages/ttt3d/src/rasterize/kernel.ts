import type { ProgramUniform, TensorInfo, WebGPUKernelContext, WebGPUSubgroups } from '@tessera/tensor-core';
import { CompositeBackwardProgram, type CompositeReduction } from './composite-backward.program.js';
import { CompositeProgram } from './composite.program.js';
import { GaussianBackwardProgram } from './gaussian-backward.program.js';
import { PreprocessProgram } from './preprocess.program.js';
import { depthOrder, sortByTile, type TileBins, tileRanges } from './radix-sort.js';
import { type BackwardInput, cameraUniforms, type GaussianInput, type RasterAttrs, tileGrid } from './raster-attrs.js';
import type { KernelRunner } from './scan.js';
import { checkStorageBindings, maxStorageBinding } from './storage-bindings.js';

/** The Gaussian tensors as a WebGPU kernel receives them. */
type GaussianInfos = Record<GaussianInput, TensorInfo>;

/** What the forward and backward compositing programs read. The caller disposes it (`disposeBinning`). */
interface Binning extends TileBins {
  /** `[N, PRE_STRIDE]` preprocess output (projection.wgsl.ts PRE_*). */
  pre: TensorInfo;
  /** `[3N + 1]` depth order and each Gaussian's first list entry (intersections.wgsl.ts). */
  order: TensorInfo;
}

/**
 * Preprocess → depth order (and the scan of the tile counts in it) → duplication in depth order → stable sort by
 * tile → tile ranges: gsplat's `fully_fused_projection`, `isect_tiles`, sort of (tile | depth) keys and
 * `isect_offset_encode`, reordered so that the 32 depth bits are sorted once per Gaussian instead of once per
 * intersection. Deterministic: a backward given no saved binning rebuilds exactly the lists the forward composited. For N ≤ 16k and
 * ≤ 256 tiles on a GPU: 4 dispatches (radix-sort.ts, binning-limits.ts).
 */
function binGaussians(ctx: KernelRunner, g: GaussianInfos, attrs: RasterAttrs): Binning {
  const n = g.means.shape[0] as number;
  const shK = g.sh.shape[1] as number;
  const { tilesX, tilesY } = tileGrid(attrs);
  const pre = ctx.run(
    new PreprocessProgram(n),
    [g.means, g.logScales, g.quaternions, g.opacityLogits, g.sh],
    'float32',
    cameraUniforms(attrs, n, shK),
  );
  const order = depthOrder(ctx, pre, n);
  const bins = sortByTile(ctx, pre, order, n, attrs.capacity, tilesX, tilesX * tilesY);
  return { pre, order, ...bins };
}

function disposeBinning(ctx: KernelRunner, b: Binning): void {
  const infos = new Set([b.pre, b.order, b.keys, b.ranges]);
  for (const info of infos) ctx.dispose(info);
}

/** Uniforms of the tile programs (TILE_UNIFORMS in composite.program.ts). */
function tileUniforms(attrs: RasterAttrs, n: number, b: Binning): ProgramUniform[] {
  const { tilesX } = tileGrid(attrs);
  return [n, attrs.capacity, attrs.width, attrs.height, tilesX, b.rangesBase].map((v) => ({ type: 'int32' as const, data: [v] }));
}

/**
 * The WebGPU forward: bin the Gaussians into depth-sorted tile lists, then composite each tile. Returns `[h, w, 5]`
 * and the binning (`pre`, `order`, `keys`: BINNING_OUTPUTS), which the backward replays instead of binning again.
 */
export function rasterizeWebGPU(ctx: WebGPUKernelContext<GaussianInput, RasterAttrs>): TensorInfo[] {
  const { inputs, attrs } = ctx;
  const { tilesX, tilesY } = tileGrid(attrs);
  const n = inputs.means.shape[0] as number;
  checkStorageBindings('forward', n, inputs.sh.shape[1] as number, attrs, maxStorageBinding());
  const binning = binGaussians(ctx, inputs, attrs);
  const out = ctx.run(
    new CompositeProgram(attrs.height, attrs.width, tilesX * tilesY),
    [binning.pre, binning.keys, binning.ranges, binning.order],
    'float32',
    tileUniforms(attrs, n, binning),
  );
  // a separate range table (more than one tile pass) is one cheap dispatch for the backward to redo (tileRanges); an
  // output of its own would need a distinct tensor in the one-pass case too, where the ranges live in `keys`
  if (binning.ranges !== binning.keys) ctx.dispose(binning.ranges);
  return [out, binning.pre, binning.order, binning.keys];
}

/** The forward's binning from the backward's inputs, or binned again where the forward left none (host, reference). */
function backwardBinning(
  ctx: KernelRunner,
  inputs: Record<BackwardInput, TensorInfo>,
  attrs: RasterAttrs,
): { binning: Binning; saved: boolean } {
  if (inputs.pre.shape[0] === 0) return { binning: binGaussians(ctx, inputs, attrs), saved: false };
  const { tilesX, tilesY } = tileGrid(attrs);
  const n = inputs.means.shape[0] as number;
  const { pre, order, keys } = inputs;
  return { binning: { pre, order, keys, ...tileRanges(ctx, keys, order, n, attrs.capacity, tilesX * tilesY) }, saved: true };
}

/**
 * The WebGPU backward: take the forward's tile lists (binned again only where the forward saved none), replay every
 * pixel to get per-intersection partial gradients, then reduce them per Gaussian and chain them back to the inputs.
 * Returns `[N, 11 + 3K]`: ∂means (3), ∂logScales (3), ∂quaternions (4), ∂opacityLogits (1), ∂sh (3K).
 */
export function rasterizeBackwardWebGPU(ctx: WebGPUKernelContext<BackwardInput, RasterAttrs>): TensorInfo {
  // the portable tree on every device: on the H100 the subgroup reduction took 2.7× as long (bench/rasterize.bench.ts,
  // 2026-12-07: 18.4 against 6.8 ms at 1M Gaussians 1080p, 0.42 against 0.15 ms at 10k 256²); the variant that skips
  // per subgroup (`skip`) is not yet timed there
  return rasterizeBackwardWith(ctx, { enabled: false, minSize: 0 });
}

/**
 * How rasterizeBackwardWith reduces in the compositing: `enabled` false, the portable tree; else per subgroup, sized
 * for `minSize` — `skip` picks the variant that skips the Gaussians none of a subgroup's pixels took (transposing
 * where `maxSize` equals `minSize`, else through subgroupAdd), unset the one that reduces every Gaussian.
 */
export type BackwardReduction = Pick<WebGPUSubgroups, 'enabled' | 'minSize'> & { maxSize?: number; skip?: boolean };

function compositeReduction(r: BackwardReduction): CompositeReduction {
  return !r.enabled ? 'tree' : r.skip ? 'subgroup-skip' : 'subgroups';
}

/**
 * rasterizeBackwardWebGPU with the compositing's reduction chosen by `subgroups` (BackwardReduction): tests run the
 * variants through it on a device that has subgroups.
 */
export function rasterizeBackwardWith(ctx: WebGPUKernelContext<BackwardInput, RasterAttrs>, subgroups: BackwardReduction): TensorInfo {
  const { inputs, attrs } = ctx;
  const { tilesX, tilesY } = tileGrid(attrs);
  const n = inputs.means.shape[0] as number;
  const shK = inputs.sh.shape[1] as number;
  checkStorageBindings('backward', n, shK, attrs, maxStorageBinding());
  const { binning, saved } = backwardBinning(ctx, inputs, attrs);
  const partials = ctx.run(
    new CompositeBackwardProgram(attrs.capacity, tilesX * tilesY, compositeReduction(subgroups), subgroups.minSize, subgroups.maxSize ?? 0),
    [binning.pre, binning.keys, binning.ranges, binning.order, inputs.rendered, inputs.dy],
    'float32',
    tileUniforms(attrs, n, binning),
  );
  const grads = ctx.run(
    new GaussianBackwardProgram(n, shK),
    [inputs.means, inputs.logScales, inputs.quaternions, inputs.opacityLogits, inputs.sh, binning.order, partials],
    'float32',
    cameraUniforms(attrs, n, shK),
  );
  ctx.dispose(partials);
  if (!saved) disposeBinning(ctx, binning);
  else if (binning.ranges !== binning.keys) ctx.dispose(binning.ranges);
  return grads;
}
