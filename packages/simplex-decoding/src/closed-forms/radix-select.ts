import { type ProgramUniform, scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { RADIX_DIGITS, type RadixGrid, radixGrid } from './radix-layout.js';
import { RadixCutProgram, RadixPassProgram, radixInputNames, SparsemaxWriteProgram } from './radix-select.program.js';
import { type RadixKind, type RadixMode, SEARCH_CODE } from './radix-select.wgsl.js';

/** What the radix select needs of a WebGPU kernel's context. */
export type RadixContext = Pick<WebGPUKernelContext<string, unknown>, 'run' | 'dispose'>;

/** What a search is for: temperature, top-k (0: none) and top-p (1: none); `splits` overrides `radixGrid`'s choice. */
export interface RadixSearch {
  temperature: number;
  k: number;
  p: number;
  splits?: number | undefined;
}

/** The uniforms of a radix program (radix-select.program.ts: `RADIX_UNIFORMS`). */
export function radixUniforms(
  cols: number,
  { splits, slice }: RadixGrid,
  search: RadixSearch,
  mode: RadixMode,
  digit: number,
  filtered: boolean,
): ProgramUniform[] {
  return [
    ...scalarUniforms('int32', [cols, splits, slice, search.k]),
    ...scalarUniforms('float32', [search.temperature, search.p]),
    ...scalarUniforms('int32', [digit, SEARCH_CODE[mode], filtered ? 1 : 0]),
  ];
}

/** The programs of one radix select, in order, with their uniforms: for the bench, which times each alone. */
export interface RadixStep {
  name: string;
  program: RadixPassProgram | RadixCutProgram;
  uniforms: ProgramUniform[];
}

/**
 * The steps of one radix select over `[rows, cols]`: the histogram passes over digits 0…3 (only digit 0
 * for 'none') and the cut program. `filtered`: inside an earlier cut.
 */
export function radixSteps(
  rows: number,
  cols: number,
  grid: RadixGrid,
  search: RadixSearch,
  mode: RadixMode,
  filtered: boolean,
): RadixStep[] {
  const kind: RadixKind = mode === 'sparse' ? 'sparse' : 'truncated';
  const passes = mode === 'none' ? 1 : RADIX_DIGITS;
  const steps: RadixStep[] = [];
  for (let d = 0; d < passes; d++) {
    steps.push({
      name: `pass ${d}`,
      program: new RadixPassProgram(rows, grid.splits, kind, d === 0, filtered),
      uniforms: radixUniforms(cols, grid, search, mode, d, filtered),
    });
  }
  steps.push({
    name: 'cut',
    program: new RadixCutProgram(rows, kind),
    uniforms: radixUniforms(cols, grid, search, mode, passes - 1, filtered),
  });
  return steps;
}

/**
 * Inputs of step `step` of `radixSteps`, the cut program being step `passes` (radix-select.program.ts:
 * `radixInputNames`): the logits, the previous step's output (from pass 1 on) and, in pass 0, the
 * earlier cut if any.
 */
export function radixInputs(
  step: number,
  passes: number,
  mode: RadixMode,
  logits: TensorInfo,
  prev: TensorInfo | undefined,
  cut: TensorInfo | undefined,
): TensorInfo[] {
  const kind: RadixKind = mode === 'sparse' ? 'sparse' : 'truncated';
  const names = radixInputNames(kind, step === 0 ? 'first' : step === passes ? 'cut' : 'next', cut !== undefined);
  return names.map((name) => {
    const input = name === 'logits' ? logits : name === 'prev' ? prev : cut;
    if (input === undefined) throw new Error(`radixInputs: step ${step} of a '${mode}' search needs '${name}'`);
    return input;
  });
}

/**
 * One radix select over `logits: [B, V]`, each step's output freed once the next has read it. Returns
 * int32 `[B, 8]` (radix-select.program.ts: `RadixCutProgram`). `cut`: an earlier cut the search stays inside.
 */
function radixStage(ctx: RadixContext, logits: TensorInfo, search: RadixSearch, mode: RadixMode, cut?: TensorInfo): TensorInfo {
  const [rows, cols] = logits.shape as [number, number];
  const steps = radixSteps(rows, cols, radixGrid(rows, cols, search.splits), search, mode, cut !== undefined);
  let prev: TensorInfo | undefined;
  steps.forEach(({ program, uniforms }, i) => {
    const out = ctx.run(program, radixInputs(i, steps.length - 1, mode, logits, prev, cut), 'int32', uniforms);
    if (prev !== undefined) ctx.dispose(prev);
    prev = out;
  });
  return prev as TensorInfo;
}

/**
 * The cut of `truncatedSoftmaxOp` by radix select (WebGPU): int32 `[B, 8]` in the format of the fused
 * sampler's 'cut' selection, which `TruncatedSoftmaxProgram` turns into q. top-k alone or top-p alone is
 * one search (5 dispatches); both are a count search, then a mass search inside its cut (HF's order);
 * neither (k = 0 or V, p = 1) is the row max and mass only (2 dispatches).
 */
export function radixCut(ctx: RadixContext, logits: TensorInfo, search: RadixSearch): TensorInfo {
  const cols = logits.shape[1] as number;
  const topK = search.k > 0 && search.k < cols;
  const topP = search.p < 1;
  const s = { ...search, k: topK ? search.k : 0 };
  if (!topK) return radixStage(ctx, logits, s, topP ? 'mass' : 'none');
  const kept = radixStage(ctx, logits, s, 'count');
  if (!topP) return kept;
  const nucleus = radixStage(ctx, logits, s, 'mass', kept);
  ctx.dispose(kept);
  return nucleus;
}

/** The search of `radixSparsemax`: no temperature (z is already scaled), no top-k or top-p. */
export const SPARSEMAX_SEARCH: RadixSearch = { temperature: 1, k: 0, p: 1 };

/**
 * Sparsemax of `z: [B, V]` by radix select (WebGPU): the threshold search (5 dispatches), then
 * q = [z − τ]₊ in one split pass. Same rows as the bisection: NaN for a row holding a NaN or +∞, or
 * only −∞.
 */
export function radixSparsemax(ctx: RadixContext, z: TensorInfo, splits?: number): TensorInfo {
  const [rows, cols] = z.shape as [number, number];
  const params = radixStage(ctx, z, { ...SPARSEMAX_SEARCH, splits }, 'sparse');
  const q = ctx.run(new SparsemaxWriteProgram(rows, cols), [z, params], 'float32', scalarUniforms('int32', [cols]));
  ctx.dispose(params);
  return q;
}
