import { type ProgramUniform, scalarUniforms, type TensorInfo, type WebGPUKernelContext, type WebGPUProgram } from '@tessera/tensor-core';
import { RADIX_MIN_COLS, type RadixGrid, radixGrid } from '../closed-forms/radix-layout.js';
import { type RadixSearch, radixUniforms } from '../closed-forms/radix-select.js';
import { drawOutputs, drawUniformData } from '../sample/draw-output.js';
import {
  RADIX_LIST_CAP,
  RadixListDrawProgram,
  SAMPLE_LAST_DIGIT,
  SampleCountPassProgram,
  SampleRadixLastPassProgram,
  SampleRadixPassProgram,
} from './radix-draw.program.js';
import { rowUniformData } from '../sample/row-uniform.wgsl.js';
import type { SamplerPath } from './attrs.js';

/**
 * Which selection the fused sampler runs on WebGPU. 'auto' (or undefined): by shape — the radix select
 * (each row spread over several workgroups) for rows of at least `RADIX_MIN_COLS` tokens that `radixGrid`
 * splits in two or more, i.e. up to 256 rows at the usual vocabularies; otherwise one workgroup per row
 * (`SelectProgram`). Unlike the closed forms' `useRadixSelect`, a lone small top-k over many rows is not
 * kept on one workgroup: the sampler's one-workgroup draw took 0.83 ms at 256 × 131072 with k = 50 (H100,
 * 2026-12-06), latency-bound, whatever p. With one split a row (more than 256 rows) the radix passes would
 * be one workgroup per row as well, only with more passes. A first guess from the pass structure, for
 * bench/sampling.bench.ts to confirm on the GPU. 'row' and 'split' force a path (tests, bench); 'candidates' splits
 * rows as 'split' does (candidates-draw.ts), so it counts as split here.
 */
export function useRadixDraw(path: SamplerPath | undefined, rows: number, cols: number): boolean {
  if (path === 'row') return false;
  if (path === 'split' || path === 'candidates') return true;
  return cols >= RADIX_MIN_COLS && radixGrid(rows, cols).splits >= 2;
}

/** Whether the radix path draws from a candidate list (`radixListDraw`): a top-k of at most `RADIX_LIST_CAP`. */
export function drawsFromList(k: number, cols: number): boolean {
  return k > 0 && k < cols && k <= RADIX_LIST_CAP;
}

/** The filters of `radixListDraw`: the search's (temperature, top-k, splits), the list's (top-p, min-p), and the Philox stream of the row uniforms. */
export interface RadixDrawAttrs extends RadixSearch {
  pMin: number;
  seed: number;
  offset: number;
}

/** What the sampler's draws run with: tfjs' programs, `runOutputs` for the draw writing both outputs, and `dispose`. */
export type DrawContext = Pick<WebGPUKernelContext<string, unknown>, 'run' | 'runOutputs' | 'dispose'>;

/** One pass of `radixListDraw`, with its uniforms (the passes write int32): for the tests, which run them one at a time. */
export interface RadixPassStep {
  name: string;
  program: WebGPUProgram;
  uniforms: ProgramUniform[];
}

/**
 * The passes of `radixListDraw` over `[rows, cols]`, in order: the count pass over digit 0, then the passes
 * that fix digits 0…3 and list each row's candidates as soon as they fit (`SampleRadixPassProgram`, digit
 * uniform 1…4). Pass 0 reads the logits, each later pass the logits and the previous pass's output.
 */
export function radixPassSteps(rows: number, cols: number, grid: RadixGrid, attrs: RadixDrawAttrs): RadixPassStep[] {
  const steps: RadixPassStep[] = [
    {
      name: 'pass 0',
      program: new SampleCountPassProgram(rows, grid.splits),
      uniforms: radixUniforms(cols, grid, attrs, 'count', 0, false),
    },
  ];
  for (let d = 1; d <= SAMPLE_LAST_DIGIT; d++) {
    steps.push({
      name: d === SAMPLE_LAST_DIGIT ? 'last pass' : `pass ${d}`,
      program: d === SAMPLE_LAST_DIGIT ? new SampleRadixLastPassProgram(rows, grid.splits) : new SampleRadixPassProgram(rows, grid.splits),
      uniforms: radixUniforms(cols, grid, attrs, 'count', d, false),
    });
  }
  return steps;
}

/**
 * The draw of `radixListDraw` from the last pass's output `list` (`grid.splits` lists a row): both outputs,
 * ids and logprobs, in one dispatch of `RadixListDrawProgram`.
 */
export function radixListDrawFrom(
  ctx: Pick<DrawContext, 'runOutputs'>,
  list: TensorInfo,
  grid: RadixGrid,
  attrs: RadixDrawAttrs,
): TensorInfo[] {
  const rows = list.shape[0] as number;
  return ctx.runOutputs(new RadixListDrawProgram(rows), [list], drawOutputs(rows), [
    ...drawUniformData(rows),
    ...scalarUniforms('int32', [grid.splits, attrs.k]),
    ...scalarUniforms('float32', [attrs.p, attrs.pMin]),
    ...rowUniformData(attrs.seed, attrs.offset),
  ]);
}

/**
 * The fused sampler's WebGPU draw for a top-k of at most `RADIX_LIST_CAP` tokens (`drawsFromList`), on a
 * radix select whose passes split each row over many workgroups: `logits: [B, V]` → `[ids int32 [B],
 * logprobs float32 [B]]`, each intermediate freed once read, the row uniforms drawn inside the draw from
 * the Philox stream (seed, offset + row). A count search for the k-th largest key, 8 bits a pass (the
 * closed forms' `advance` and histograms), that stops as soon as the tokens at or above the bits fixed so
 * far fit a list of 512 — they contain the top-k set — and lists them per split; one workgroup per row
 * then gathers the list and finishes as the one-workgroup path finishes on its own candidate list (top-k,
 * top-p over it, min-p, inverse CDF in id order), writing the ids and the logprobs. 6 dispatches; the logits
 * are read once by pass 0, once by each pass that histograms, once by the pass that lists (and again, on one
 * slice, where the exact cut splits more than 512 tied tokens).
 */
export function radixListDraw(ctx: DrawContext, logits: TensorInfo, attrs: RadixDrawAttrs): TensorInfo[] {
  const [rows, cols] = logits.shape as [number, number];
  const grid = radixGrid(rows, cols, attrs.splits);
  let prev: TensorInfo | undefined;
  for (const step of radixPassSteps(rows, cols, grid, attrs)) {
    const out = ctx.run(step.program, prev === undefined ? [logits] : [logits, prev], 'int32', step.uniforms);
    if (prev !== undefined) ctx.dispose(prev);
    prev = out;
  }
  const list = prev as TensorInfo;
  const outputs = radixListDrawFrom(ctx, list, grid, attrs);
  ctx.dispose(list);
  return outputs;
}
