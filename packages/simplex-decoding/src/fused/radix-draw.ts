import { type ProgramUniform, scalarUniforms, type TensorInfo, type WebGPUProgram } from '@tessera/tensor-core';
import { RADIX_MIN_COLS, type RadixGrid, radixGrid, type SelectPath } from '../closed-forms/radix-layout.js';
import { type RadixContext, type RadixSearch, radixUniforms } from '../closed-forms/radix-select.js';
import {
  RADIX_LIST_CAP,
  RadixListDrawProgram,
  SAMPLE_LAST_DIGIT,
  SampleCountPassProgram,
  SampleRadixLastPassProgram,
  SampleRadixPassProgram,
} from './radix-draw.program.js';

/**
 * Which selection the fused sampler runs on WebGPU. 'auto' (or undefined): by shape — the radix select
 * (each row spread over several workgroups) for rows of at least `RADIX_MIN_COLS` tokens that `radixGrid`
 * splits in two or more, i.e. up to 256 rows at the usual vocabularies; otherwise one workgroup per row
 * (`SelectProgram`). Unlike the closed forms' `useRadixSelect`, a lone small top-k over many rows is not
 * kept on one workgroup: the sampler's one-workgroup draw took 0.83 ms at 256 × 131072 with k = 50 (H100,
 * 2026-12-06), latency-bound, whatever p. With one split a row (more than 256 rows) the radix passes would
 * be one workgroup per row as well, only with more passes. A first guess from the pass structure, for
 * bench/sampling.bench.ts to confirm on the GPU. 'row' and 'split' force a path (tests, bench).
 */
export function useRadixDraw(path: SelectPath | undefined, rows: number, cols: number): boolean {
  if (path === 'row') return false;
  if (path === 'split') return true;
  return cols >= RADIX_MIN_COLS && radixGrid(rows, cols).splits >= 2;
}

/** Whether the radix path draws from a candidate list (`radixListDraw`): a top-k of at most `RADIX_LIST_CAP`. */
export function drawsFromList(k: number, cols: number): boolean {
  return k > 0 && k < cols && k <= RADIX_LIST_CAP;
}

/** The filters of `radixListDraw`: the search's (temperature, top-k, splits) and the list's (top-p, min-p). */
export interface RadixDrawAttrs extends RadixSearch {
  pMin: number;
}

/** One program of `radixListDraw`, with its uniforms and output dtype: for the tests and the bench, which run them one at a time. */
export interface RadixDrawStep {
  name: string;
  program: WebGPUProgram;
  uniforms: ProgramUniform[];
  dtype: 'int32' | 'float32';
}

/**
 * The programs of `radixListDraw` over `[rows, cols]`, in order: the count pass over digit 0, the passes
 * that fix digits 0…3 and list each row's candidates as soon as they fit (`SampleRadixPassProgram`, digit
 * uniform 1…4), and the draw.
 */
export function radixDrawSteps(rows: number, cols: number, grid: RadixGrid, attrs: RadixDrawAttrs): RadixDrawStep[] {
  const steps: RadixDrawStep[] = [
    {
      name: 'pass 0',
      program: new SampleCountPassProgram(rows, grid.splits),
      uniforms: radixUniforms(cols, grid, attrs, 'count', 0, false),
      dtype: 'int32',
    },
  ];
  for (let d = 1; d <= SAMPLE_LAST_DIGIT; d++) {
    steps.push({
      name: d === SAMPLE_LAST_DIGIT ? 'last pass' : `pass ${d}`,
      program: d === SAMPLE_LAST_DIGIT ? new SampleRadixLastPassProgram(rows, grid.splits) : new SampleRadixPassProgram(rows, grid.splits),
      uniforms: radixUniforms(cols, grid, attrs, 'count', d, false),
      dtype: 'int32',
    });
  }
  steps.push({
    name: 'draw',
    program: new RadixListDrawProgram(rows),
    uniforms: [...scalarUniforms('int32', [grid.splits, attrs.k]), ...scalarUniforms('float32', [attrs.p, attrs.pMin])],
    dtype: 'float32',
  });
  return steps;
}

/** Inputs of step `step` of `radixDrawSteps` (of `count` steps): the logits, the previous step's output, and `u` for the draw. */
export function radixDrawInputs(
  step: number,
  count: number,
  logits: TensorInfo,
  prev: TensorInfo | undefined,
  u: TensorInfo,
): TensorInfo[] {
  if (step === 0) return [logits];
  if (prev === undefined) throw new Error(`radixDrawInputs: step ${step} needs the previous step's output`);
  return step === count - 1 ? [prev, u] : [logits, prev];
}

/**
 * The fused sampler's WebGPU draw for a top-k of at most `RADIX_LIST_CAP` tokens (`drawsFromList`), on a
 * radix select whose passes split each row over many workgroups: `logits: [B, V]`, `u: [B]` → float32
 * `[B, 2]` (id, logprob), each intermediate freed once read. A count search for the k-th largest key, 8
 * bits a pass (the closed forms' `advance` and histograms), that stops as soon as the tokens at or above
 * the bits fixed so far fit a list of 512 — they contain the top-k set — and lists them per split; one
 * workgroup per row then gathers the list and finishes as the one-workgroup path finishes on its own
 * candidate list (top-k, top-p over it, min-p, inverse CDF in id order). 6 dispatches; the logits are read
 * once by pass 0, once by each pass that histograms, once by the pass that lists (and again, on one slice,
 * where the exact cut splits more than 512 tied tokens).
 */
export function radixListDraw(ctx: RadixContext, logits: TensorInfo, u: TensorInfo, attrs: RadixDrawAttrs): TensorInfo {
  const [rows, cols] = logits.shape as [number, number];
  const steps = radixDrawSteps(rows, cols, radixGrid(rows, cols, attrs.splits), attrs);
  let prev: TensorInfo | undefined;
  steps.forEach(({ program, uniforms, dtype }, i) => {
    const out = ctx.run(program, radixDrawInputs(i, steps.length, logits, prev, u), dtype, uniforms);
    if (prev !== undefined) ctx.dispose(prev);
    prev = out;
  });
  return prev as TensorInfo;
}
