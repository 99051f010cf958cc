import { type ProgramUniform, type TensorInfo, tf } from '@tessera/tensor-core';
import { BINNING_LIMITS } from './binning-limits.js';
import { DepthRankProgram } from './depth-rank.program.js';
import { DuplicateProgram } from './duplicate.program.js';
import { KEY_WORDS } from './intersections.wgsl.js';
import { RadixHistogramProgram } from './radix-histogram.program.js';
import { type RadixPrefix, RadixScatterProgram } from './radix-scatter.program.js';
import { RADIX_BITS, RADIX_BLOCK, RADIX_BUCKETS, type RadixSource, radixSourceVariables } from './radix.wgsl.js';
import { exclusiveScan, type KernelRunner } from './scan.js';
import { ORDER_SCAN, PLAIN_SCAN } from './scan.wgsl.js';
import { TileRangesProgram } from './tile-ranges.program.js';

/** The tile-sorted intersection list, and where tile t's entries are: [ranges[rangesBase + t], … + t + 1]). */
export interface TileBins {
  keys: TensorInfo;
  ranges: TensorInfo;
  rangesBase: number;
}

/** RADIX_UNIFORMS (radix.wgsl.ts) by name. */
interface RadixUniforms {
  n: number;
  capacity: number;
  count: number;
  shift: number;
  numBlocks: number;
  histBase: number;
  tiles: number;
  rangesBase: number;
}

function radixUniforms(u: RadixUniforms): ProgramUniform[] {
  return [
    { type: 'int32', data: [u.n] },
    { type: 'int32', data: [u.capacity] },
    { type: 'int32', data: [u.count] },
    { type: 'uint32', data: [u.shift] },
    { type: 'int32', data: [u.numBlocks] },
    { type: 'int32', data: [u.histBase] },
    { type: 'int32', data: [u.tiles] },
    { type: 'int32', data: [u.rangesBase] },
  ];
}

/** What one radix pass reads: the entries, their histogram for this digit (at histBase), and `order` for tiles. */
interface PassInput {
  source: RadixSource;
  keys: TensorInfo;
  hist: TensorInfo;
  histBase: number;
  order?: TensorInfo;
  rows: number;
  numBlocks: number;
  uniforms: Omit<RadixUniforms, 'histBase' | 'shift' | 'numBlocks'>;
  shift: number;
  /** Tile count, when this pass also writes the tile ranges (a single pass over tile ids). */
  rangeTiles?: number;
}

/** The scatter of one pass, with the digit offsets fused into it or from a scan of the histogram. */
function scatterPass(ctx: KernelRunner, p: PassInput): TensorInfo {
  const extra = radixSourceVariables(p.source).length > 0 ? [p.order as TensorInfo] : [];
  const prefix: RadixPrefix = p.numBlocks <= BINNING_LIMITS.fusedPrefixMaxBlocks ? 'fused' : 'scanned';
  const uniforms = (histBase: number) => radixUniforms({ ...p.uniforms, shift: p.shift, numBlocks: p.numBlocks, histBase });
  const program = new RadixScatterProgram(p.source, prefix, p.rows, p.numBlocks, p.rangeTiles);
  if (prefix === 'fused') return ctx.run(program, [p.keys, p.hist, ...extra], 'int32', uniforms(p.histBase));
  const scanned = exclusiveScan(ctx, PLAIN_SCAN, [p.hist], RADIX_BUCKETS * p.numBlocks, p.histBase);
  const out = ctx.run(program, [p.keys, scanned, ...extra], 'int32', uniforms(0));
  ctx.dispose(scanned);
  return out;
}

/** Whether the active WebGPU device is a CPU implementation (its adapter is a fallback adapter). */
function softwareAdapter(): boolean {
  const backend = tf.backend() as unknown as { device?: { adapterInfo?: { isFallbackAdapter?: boolean } } };
  return backend.device?.adapterInfo?.isFallbackAdapter === true;
}

/**
 * The depth order of the Gaussians (intersections.wgsl.ts `order`, `[3N + 1]`) from the preprocess output:
 * counted in one dispatch for small N (binning-limits.ts), else an LSD radix sort of (depth bits, index) — 4 stable 8-bit passes,
 * the first reading the depths straight from `pre` — and a scan of the tile counts in the sorted order.
 */
export function depthOrder(ctx: KernelRunner, pre: TensorInfo, n: number): TensorInfo {
  if (n <= (softwareAdapter() ? BINNING_LIMITS.rankSortMaxSoftware : BINNING_LIMITS.rankSortMax)) {
    return ctx.run(new DepthRankProgram(n), [pre], 'int32', [{ type: 'int32', data: [n] }]);
  }
  const numBlocks = Math.ceil(n / RADIX_BLOCK);
  const base = { n, capacity: n, count: n, tiles: 0, rangesBase: 0 };
  let source: RadixSource = 'preDepth';
  let current = pre;
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    const uniforms = radixUniforms({ ...base, shift, numBlocks, histBase: 0 });
    const hist = ctx.run(new RadixHistogramProgram(source, numBlocks), [current], 'int32', uniforms);
    const next = scatterPass(ctx, { source, keys: current, hist, histBase: 0, rows: n, numBlocks, uniforms: base, shift });
    ctx.dispose(hist);
    if (current !== pre) ctx.dispose(current);
    current = next;
    source = 'depth';
  }
  const order = exclusiveScan(ctx, ORDER_SCAN, [current, pre], n);
  ctx.dispose(current);
  return order;
}

/**
 * The intersection list sorted by tile (each tile's entries in depth order: the duplication emits them in depth
 * order and every pass is stable), and the tile ranges: duplication with the first pass's histogram fused in, then
 * one stable 8-bit pass per byte of the tile ids. A single pass (≤ 256 tiles) writes the ranges too; more passes
 * end with a binary search per tile.
 */
export function sortByTile(
  ctx: KernelRunner,
  pre: TensorInfo,
  order: TensorInfo,
  n: number,
  capacity: number,
  tilesX: number,
  tiles: number,
): TileBins {
  const numBlocks = Math.ceil(capacity / RADIX_BLOCK);
  const ints = (values: number[]): ProgramUniform[] => values.map((v) => ({ type: 'int32', data: [v] }));
  const listed = ctx.run(new DuplicateProgram(capacity, numBlocks), [pre, order], 'int32', ints([n, capacity, tilesX, numBlocks]));
  const passes = tilePasses(tiles);
  const base = { n, capacity, count: 0, tiles, rangesBase: KEY_WORDS * capacity };
  let current = listed;
  for (let pass = 0; pass < passes; pass++) {
    const shift = pass * RADIX_BITS;
    const hist =
      pass === 0
        ? listed
        : ctx.run(
            new RadixHistogramProgram('tile', numBlocks),
            [current, order],
            'int32',
            radixUniforms({ ...base, shift, numBlocks, histBase: 0 }),
          );
    const next = scatterPass(ctx, {
      source: 'tile',
      keys: current,
      hist,
      histBase: pass === 0 ? KEY_WORDS * capacity : 0,
      order,
      rows: capacity,
      numBlocks,
      uniforms: base,
      shift,
      rangeTiles: passes === 1 ? tiles : undefined,
    });
    if (hist !== current) ctx.dispose(hist);
    ctx.dispose(current);
    current = next;
  }
  return { keys: current, ...tileRanges(ctx, current, order, n, capacity, tiles) };
}

/** Stable 8-bit radix passes the tile sort takes: one per byte of the tile ids. */
function tilePasses(tiles: number): number {
  return Math.ceil(Math.max(1, Math.ceil(Math.log2(tiles))) / RADIX_BITS);
}

/**
 * Where tile t's entries of the tile-sorted `keys` are: after the list in `keys` itself when the sort took one pass
 * (its scatter wrote them), else from a binary search per tile (one dispatch; the caller disposes `ranges` then).
 * The backward calls it on the forward's saved `keys` too.
 */
export function tileRanges(
  ctx: KernelRunner,
  keys: TensorInfo,
  order: TensorInfo,
  n: number,
  capacity: number,
  tiles: number,
): Omit<TileBins, 'keys'> {
  if (tilePasses(tiles) === 1) return { ranges: keys, rangesBase: KEY_WORDS * capacity };
  const uniforms = [n, capacity, tiles].map((v): ProgramUniform => ({ type: 'int32', data: [v] }));
  return { ranges: ctx.run(new TileRangesProgram(tiles), [keys, order], 'int32', uniforms), rangesBase: 0 };
}
