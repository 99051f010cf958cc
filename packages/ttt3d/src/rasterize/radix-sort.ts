import type { TensorInfo } from '@tessera/tensor-core';
import { RadixHistogramProgram } from './radix-histogram.program.js';
import { RadixScatterProgram } from './radix-scatter.program.js';
import { RADIX_BITS, RADIX_BLOCK, RADIX_BUCKETS } from './radix.wgsl.js';
import { exclusiveScan, type KernelRunner } from './scan.js';

/**
 * Sorts the stored intersection entries by the 64-bit key (tile, depth bits) — gsplat's `isect_ids` order —
 * with a least-significant-digit radix sort, 4 bits per pass: the depth word's 32 bits first, then the bits
 * the tile ids need. Each pass is stable, so equal keys keep the list's (Gaussian, tile) order. Positive
 * float depths sort correctly as unsigned integers. Consumes `keys` (disposed) and returns the sorted list.
 */
export function radixSortIntersections(
  ctx: KernelRunner,
  keys: TensorInfo,
  offsets: TensorInfo,
  n: number,
  capacity: number,
  tiles: number,
): TensorInfo {
  const numBlocks = Math.ceil(capacity / RADIX_BLOCK);
  const tileBits = Math.max(1, Math.ceil(Math.log2(tiles + 1)));
  const passes: [number, number][] = [];
  for (let shift = 0; shift < 32; shift += RADIX_BITS) passes.push([1, shift]);
  for (let shift = 0; shift < tileBits; shift += RADIX_BITS) passes.push([0, shift]);
  let current = keys;
  for (const [word, shift] of passes) {
    const uniforms = [
      { type: 'int32' as const, data: [n] },
      { type: 'int32' as const, data: [capacity] },
      { type: 'int32' as const, data: [word] },
      { type: 'uint32' as const, data: [shift] },
      { type: 'int32' as const, data: [numBlocks] },
    ];
    const histogram = ctx.run(new RadixHistogramProgram(numBlocks), [current, offsets], 'int32', uniforms);
    const digitOffsets = exclusiveScan(ctx, histogram, RADIX_BUCKETS * numBlocks);
    ctx.dispose(histogram);
    const next = ctx.run(new RadixScatterProgram(capacity, numBlocks), [current, offsets, digitOffsets], 'int32', uniforms);
    ctx.dispose(digitOffsets);
    ctx.dispose(current);
    current = next;
  }
  return current;
}
