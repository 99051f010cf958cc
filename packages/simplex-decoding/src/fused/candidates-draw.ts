import { scalarUniforms, type TensorInfo } from '@tessera/tensor-core';
import { drawOutputs, drawUniformData } from '../sample/draw-output.js';
import { rowUniformData } from '../sample/row-uniform.wgsl.js';
import type { SamplerPath } from './attrs.js';
import { CANDIDATES_K_CAP, CandidatesDrawProgram } from './candidates-draw.program.js';
import { type DrawContext, type RadixDrawAttrs, useRadixDraw } from './radix-draw.js';
import { CANDIDATES_WORKGROUP, SPLIT_UNIT, SplitCandidatesProgram } from './split-candidates.program.js';

/** Workgroups the split program aims for: ~4 per SM of an H100 (132 SMs), as the radix passes do. */
const TARGET_WORKGROUPS = 512;
/** Most vec4s a thread of `SplitCandidatesProgram` holds: 32 tokens, one bit each of its `live` mask. */
const MAX_VEC4S = 8;
/** Most candidates a thread of `CandidatesDrawProgram` holds: with k = 128, 32 splits of 4096 tokens or more. */
const MAX_PER_THREAD = 16;

/** How the candidate path splits a row: `splits` of `slice` = 1024 · `vec4s` tokens, and the draw's candidates a thread. */
export interface CandidateGrid {
  vec4s: number;
  splits: number;
  slice: number;
  perThread: number;
}

function gridOf(cols: number, k: number, vec4s: number): CandidateGrid {
  const slice = SPLIT_UNIT * vec4s;
  const splits = Math.ceil(cols / slice);
  const per = Math.ceil((splits * k) / CANDIDATES_WORKGROUP);
  return { vec4s, splits, slice, perThread: 2 ** Math.ceil(Math.log2(Math.max(per, 1))) };
}

/**
 * The grid of the candidate path over `[rows, cols]` with top-k `k`, or undefined where the row's
 * candidates (k a split) do not fit `CandidatesDrawProgram`'s registers. The longest split (8192 tokens,
 * 32 a thread) that still gives ~`TARGET_WORKGROUPS` workgroups, else the shortest whose candidates fit:
 * longer splits list fewer candidates for the draw to merge, shorter ones spread a few rows over more SMs.
 * `splits` (tests): about that many splits a row instead, splits of 1024 tokens at least.
 */
export function candidateGrid(rows: number, cols: number, k: number, splits?: number): CandidateGrid | undefined {
  const fits = (g: CandidateGrid): boolean => g.perThread <= MAX_PER_THREAD;
  if (splits !== undefined) {
    const wanted = 2 ** Math.ceil(Math.log2(Math.max(1, cols / (SPLIT_UNIT * splits))));
    const g = gridOf(cols, k, Math.min(wanted, MAX_VEC4S));
    return fits(g) ? g : undefined;
  }
  const grids = [8, 4, 2, 1].map((v) => gridOf(cols, k, v)).filter(fits);
  return grids.find((g) => rows * g.splits >= TARGET_WORKGROUPS) ?? grids[grids.length - 1];
}

/**
 * The candidate path's grid when the fused sampler's WebGPU kernel takes it, else undefined: a top-k of at
 * most `CANDIDATES_K_CAP` (and below V) wherever `path` is 'candidates', and by shape ('auto') on the shapes
 * `useRadixDraw` splits: it reads the logits once where the radix passes read them two to five times (H100,
 * 2026-12-07, k = 50 over 131072: 0.118 against 0.211 ms at 64 rows, 0.280 against 0.675 at 256, 0.117 against 0.287
 * at 1; bench/results/2026-12-07-h100-s3-call1-sampling-mamba3.json); never where 'row' or 'split' is forced.
 */
export function useCandidateDraw(
  path: SamplerPath | undefined,
  rows: number,
  cols: number,
  k: number,
  splits?: number,
): CandidateGrid | undefined {
  if (path === 'row' || path === 'split') return undefined;
  if (!(k >= 1 && k < cols && k <= CANDIDATES_K_CAP)) return undefined;
  if (path !== 'candidates' && !useRadixDraw(path, rows, cols)) return undefined;
  return candidateGrid(rows, cols, k, splits);
}

/**
 * The fused sampler's WebGPU draw for a top-k of at most `CANDIDATES_K_CAP` (`useCandidateDraw`), reading
 * the logits once: `logits: [B, V]` → `[ids int32 [B], logprobs float32 [B]]`. Each split of a row lists its
 * exact top-k from registers (`SplitCandidatesProgram`); one workgroup a row picks the row's top-k among
 * those lists and draws from it with `RadixListDrawProgram`'s WGSL (`CandidatesDrawProgram`), writing both
 * outputs. 2 dispatches, where the radix passes (`radixListDraw`) take 6 and read the row 2 to 5 times; the
 * same draws, bit for bit.
 */
export function candidatesDraw(ctx: DrawContext, logits: TensorInfo, grid: CandidateGrid, attrs: RadixDrawAttrs): TensorInfo[] {
  const [rows, cols] = logits.shape as [number, number];
  const { k } = attrs;
  const lists = ctx.run(new SplitCandidatesProgram(rows, grid.splits, k, grid.vec4s, cols % 4 === 0), [logits], 'int32', [
    ...scalarUniforms('int32', [cols, grid.splits, k]),
    ...scalarUniforms('float32', [attrs.temperature]),
  ]);
  const outputs = ctx.runOutputs(new CandidatesDrawProgram(rows, grid.perThread), [lists], drawOutputs(rows), [
    ...drawUniformData(rows),
    ...scalarUniforms('int32', [cols, grid.splits, grid.slice, k]),
    ...scalarUniforms('float32', [attrs.p, attrs.pMin]),
    ...rowUniformData(attrs.seed, attrs.offset),
  ]);
  ctx.dispose(lists);
  return outputs;
}
