/*
 * Shapes of the multi-workgroup radix select (radix-select.program.ts): how a row is split over
 * workgroups, the layout of the partial histograms the passes hand on, and the rule that picks it over
 * the one-workgroup-per-row programs.
 */

/** Threads per workgroup of the radix passes; also the number of bins (one bin per thread in the reductions). */
export const RADIX_WORKGROUP = 256;
/** Bits of the key fixed per pass: 4 passes of 8 bits cover the 32-bit key. */
export const RADIX_BITS = 8;
export const RADIX_BINS = 1 << RADIX_BITS;
export const RADIX_DIGITS = 32 / RADIX_BITS;
/**
 * Copies of the workgroup histogram, lane i adding into copy i mod 4 (interleaved, so that the copies of
 * one bin sit in different banks): on logits the first digit (sign, 7 exponent bits) puts most of a row
 * into a handful of bins, and a single copy would serialise a warp's atomics on them.
 */
export const RADIX_COPIES = 4;
/**
 * Words of one split's partial histogram: count, then the bits of Σ weight as 64-bit fixed point (low and
 * high word, 2⁻⁴⁰ resolution) per bin, then 4 header words (the split's reference value, NaN flag, +∞ count).
 */
export const RADIX_SPLIT_WORDS = 3 * RADIX_BINS + 4;
/** Words of the row state written ahead of a row's partial histograms (radix-select.wgsl.ts: HDR). */
export const RADIX_HEADER_WORDS = 10;

/** Workgroups a pass aims for: ~4 per SM of an H100 (132 SMs), so that a pass is not one wave of stragglers. */
export const RADIX_TARGET_WORKGROUPS = 512;
/** Shortest slice of a row one workgroup reads (16 tokens a thread): below that the fixed work per workgroup dominates. */
export const RADIX_MIN_SLICE = 4096;
/** Most splits of a row: the reductions give one thread to each split. */
export const RADIX_MAX_SPLITS = RADIX_WORKGROUP;

/** How a row is split: `splits` workgroups, each reading `slice` contiguous tokens (the last one fewer). */
export interface RadixGrid {
  splits: number;
  slice: number;
}

/**
 * Splits so that rows · splits ≈ `RADIX_TARGET_WORKGROUPS`, none shorter than `RADIX_MIN_SLICE` tokens;
 * or about `splits` of them when given (tests: many splits on short rows), at most `RADIX_MAX_SPLITS`.
 */
export function radixGrid(rows: number, cols: number, splits?: number): RadixGrid {
  const wanted = Math.ceil(RADIX_TARGET_WORKGROUPS / rows);
  const fit = Math.max(1, Math.floor(cols / RADIX_MIN_SLICE));
  const target = Math.max(1, Math.min(splits ?? Math.min(wanted, fit), RADIX_MAX_SPLITS, cols));
  const slice = Math.ceil(cols / target);
  return { splits: Math.ceil(cols / slice), slice };
}

/**
 * Which WebGPU selection runs: 'row' (one workgroup per row: the fused sampler's pivot search for
 * `topK`/`topP`, bisection for sparsemax), 'split' (the radix select, each row spread over workgroups) or
 * 'auto' (by shape, `useRadixSelect`). Only the WebGPU kernels read it; the result is the same.
 */
export type SelectPath = 'auto' | 'row' | 'split';

/** Rows at least this long take the radix select for `topK`/`topP`. */
export const RADIX_MIN_COLS = 16384;
/** Rows at least this long take the radix select for sparsemax (the bisection re-reads its row 40 times). */
export const RADIX_MIN_COLS_SPARSEMAX = 4096;
/** A top-k this small, alone, over this many rows, stays on one workgroup per row (see `useRadixSelect`). */
export const ROW_TOP_K_MAX = 256;
export const ROW_TOP_K_MIN_ROWS = 256;

/**
 * The shape rule (first guesses from the pass structure, to be confirmed by bench/closed-forms.bench.ts on
 * the GPU): the radix select costs 5 dispatches and 4 reads of the row whatever the data (plus the write);
 * one workgroup per row costs one dispatch, but its pivot search re-reads the row 10–40 times, and with
 * fewer rows than ~2× the SMs most of the GPU idles. So rows shorter than `minCols` stay on one
 * workgroup (they are re-read from L1/L2 and the radix passes' fixed cost dominates), and so does a lone
 * small top-k (k ≤ 256, p = 1) over ≥ 256 rows: its row max bracket and candidate list finish in ~3 reads
 * with every SM busy. Everything else — top-p, sparsemax, large k, few rows — goes to the radix select.
 */
export function useRadixSelect(
  path: SelectPath | undefined,
  rows: number,
  cols: number,
  opts: { k?: number; p?: number; minCols?: number } = {},
): boolean {
  if (path === 'row') return false;
  if (path === 'split') return true;
  if (cols < (opts.minCols ?? RADIX_MIN_COLS)) return false;
  const k = opts.k ?? 0;
  const topKOnly = k > 0 && k < cols && (opts.p ?? 1) >= 1;
  return !(topKOnly && k <= ROW_TOP_K_MAX && rows >= ROW_TOP_K_MIN_ROWS);
}
