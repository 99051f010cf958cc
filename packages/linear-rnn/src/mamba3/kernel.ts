import {
  type OutputSpec,
  type ProgramUniform,
  scalarUniforms,
  type TensorInfo,
  type WebGPUKernelContext,
  type WebGPUOutputsProgram,
  type WebGPUProgram,
  webgpuStorageBufferLimit,
} from '@tessera/tensor-core';
import { ChunkLocalProgram } from './chunk-local.program.js';
import { CHUNK_FINISH_BUFFERS, ChunkOutputProgram } from './chunk-output.program.js';
import { ChunkScanProgram } from './chunk-scan.program.js';
import { FinalStateProgram } from './final-state.program.js';
import type { KernelAttrs, KernelInput, SequenceInput } from './kernel-inputs.js';
import { type KernelLayout, kernelLayout, layoutUniforms, SCAN_MAX_CHUNKS, tokenTable } from './kernel-layout.js';
import { StatePassProgram } from './state-pass.program.js';
import { StepAngleProgram } from './step-angle.program.js';
import { StepCoefProgram } from './step-coef.program.js';
import { StepKeyProgram } from './step-key.program.js';
import { StepOutputProgram } from './step-output.program.js';
import { STEP_STATE_INLINE_BUFFERS, StepStateProgram } from './step-state.program.js';
import { STEP_BUFFERS, STEP_TILE_ROWS, StepProgram } from './step.program.js';

/** One WGSL program of the chunked forward and the uniforms it runs with. */
export interface ChunkStage {
  program: WebGPUProgram;
  uniforms: ProgramUniform[];
}

/**
 * The programs of the chunked forward that make the token and state tables (bench/mamba3-passes times each):
 * 'scan' alone, or 'local' then 'pass' ('passFromState' with an initial state). `finishStage` gives the rest.
 */
export type ChunkStageName = 'scan' | 'local' | 'pass' | 'passFromState';

/**
 * The programs after the tables: 'finish' (y and the final state, angles and keys in one, `CHUNK_FINISH_BUFFERS`
 * storage buffers), or 'output' (y) then 'finalState' where the device binds fewer.
 */
export type FinishStageName = 'finish' | 'output' | 'finalState';

/** One program after the tables, writing several tensors (`runOutputs`), with its uniforms and outputs' specs. */
export interface FinishStage {
  program: WebGPUOutputsProgram;
  uniforms: ProgramUniform[];
  /** `[y, ssm, k, angle]`, the part of them the program writes, as flat `[B·H, …]` rows. */
  outputs: OutputSpec[];
}

/**
 * Whether a forward makes its tables with the one sequential ChunkScanProgram (from a zero state, at most
 * SCAN_MAX_CHUNKS chunks) rather than ChunkLocalProgram and StatePassProgram.
 */
export function usesScan(layout: KernelLayout, hasState: boolean): boolean {
  return !hasState && layout.chunks <= SCAN_MAX_CHUNKS;
}

/**
 * Where the state table starts in the buffer that holds it: after the token table in ChunkScanProgram's output,
 * at 0 in StatePassProgram's.
 */
export function stateBase(layout: KernelLayout, scan: boolean): number {
  return scan ? tokenTable(layout) : 0;
}

/**
 * A fresh program for one run of a stage; its inputs are wired in `chunkWebGPU`. Never reuse the
 * program object: tfjs' backend appends the input shapes to `shaderKey` on every run, so a reused
 * program misses the pipeline cache and recompiles each time. `base` is the state table's start in the
 * buffer the stage reads it from (`stateBase`).
 */
export function chunkStage(layout: KernelLayout, name: ChunkStageName, base = 0): ChunkStage {
  const { headDim, stateDim } = layout;
  const uniforms = layoutUniforms(layout, base);
  const pTiles = Math.ceil(headDim / 64);
  const nTiles = Math.ceil(stateDim / 64);
  const tiles = scalarUniforms('int32', [pTiles, nTiles]);
  switch (name) {
    case 'scan':
      return { program: new ChunkScanProgram(layout, pTiles, nTiles), uniforms: [...uniforms, ...tiles] };
    case 'local':
      return { program: new ChunkLocalProgram(layout, pTiles, nTiles), uniforms: [...uniforms, ...tiles] };
    case 'pass':
    case 'passFromState':
      return { program: new StatePassProgram(layout, name === 'passFromState'), uniforms };
  }
}

/** A fresh program of the finishing stage `name` (see `chunkStage`); 'finish' and 'output' read `[x, B, C, tokens, states, D]`, 'finalState' `[B, states]`. */
export function finishStage(layout: KernelLayout, name: FinishStageName, base = 0): FinishStage {
  const { rows, seqLen, rank, headDim, stateDim, angles } = layout;
  const uniforms = layoutUniforms(layout, base);
  const pTiles = Math.ceil(headDim / 64);
  const y = { shape: [rows, seqLen * rank * headDim] };
  const final = [{ shape: [rows, headDim * stateDim] }, { shape: [rows, rank * stateDim] }, { shape: [rows, angles] }];
  if (name === 'finalState') return { program: new FinalStateProgram(rows), uniforms, outputs: final };
  const withFinal = name === 'finish';
  return {
    program: new ChunkOutputProgram(layout, pTiles, withFinal),
    uniforms: [...uniforms, ...scalarUniforms('int32', [pTiles])],
    outputs: withFinal ? [y, ...final] : [y],
  };
}

/** The layout of a call, from the kernel inputs' shapes. */
export function chunkLayout(inputs: Record<SequenceInput, Pick<TensorInfo, 'shape'>>, rank: number): KernelLayout {
  const { x, B, theta } = inputs;
  const [batch, heads, seqLen, rp] = x.shape as [number, number, number, number];
  return kernelLayout(batch, heads, seqLen, rank, rp / rank, (B.shape[3] as number) / rank, theta.shape[3] as number);
}

/**
 * The chunked forward on WebGPU, as mamba_ssm's SSD pipeline (papers/linear_rnn.md 1.6), in two or three
 * programs (three or four where the device binds fewer than ten storage buffers): the token table (per token: the angle since the chunk start, the chunk-local log-decay cumsum, γ,
 * scale) and the state table (per chunk: the state and angles entering it; then the final ones), made either
 * by ChunkScanProgram alone (short inputs from a zero state: one workgroup per state tile walks the chunks) or
 * by ChunkLocalProgram (in parallel over chunks) and StatePassProgram (a scan over chunks); then y from both
 * tables, and the final state, angles and rotated keys from the state table's last rows — each result its own
 * tensor, all four from one ChunkOutputProgram (`runOutputs`) where the device binds its `CHUNK_FINISH_BUFFERS`
 * storage buffers (`fusedFinish`, the H100 and lavapipe), else y then FinalStateProgram.
 * Returns `[y, ssm, k, angle]`; `state` is absent for a zero initial state.
 */
function chunkPipeline(
  inputs: Record<SequenceInput, TensorInfo>,
  state: Record<'ssm' | 'k' | 'v' | 'angle', TensorInfo> | undefined,
  rank: number,
  { run, runOutputs, dispose }: Pick<WebGPUKernelContext<SequenceInput, KernelAttrs>, 'run' | 'runOutputs' | 'dispose'>,
  fusedFinish: boolean,
): TensorInfo[] {
  const { x, dt, A, B, C, lambda, theta, D } = inputs;
  const layout = chunkLayout(inputs, rank);
  const scan = usesScan(layout, state !== undefined);
  const base = stateBase(layout, scan);
  const stage = (name: ChunkStageName, stageInputs: TensorInfo[]): TensorInfo => {
    const { program, uniforms } = chunkStage(layout, name, base);
    return run(program, stageInputs, 'float32', uniforms);
  };
  const perToken = [x, B, dt, A, lambda, theta];
  let tokens: TensorInfo;
  let states: TensorInfo;
  if (scan) {
    tokens = stage('scan', perToken);
    states = tokens;
  } else {
    tokens = stage('local', perToken);
    states = state ? stage('passFromState', [tokens, dt, lambda, state.ssm, state.k, state.v, state.angle]) : stage('pass', [tokens]);
  }
  const finish = (name: FinishStageName, stageInputs: TensorInfo[]): TensorInfo[] => {
    const { program, uniforms, outputs } = finishStage(layout, name, base);
    return runOutputs(program, stageInputs, outputs, uniforms);
  };
  const tableInputs = [x, B, C, tokens, states, D];
  const [y, ssm, k, angle] = (
    fusedFinish ? finish('finish', tableInputs) : [...finish('output', tableInputs), ...finish('finalState', [B, states])]
  ) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  dispose(tokens);
  if (states !== tokens) dispose(states);
  const [batch, heads] = x.shape as [number, number];
  const { seqLen, headDim, stateDim, angles } = layout;
  return [
    { ...y, shape: [batch, heads, seqLen, rank * headDim] },
    { ...ssm, shape: [batch, heads, headDim, stateDim] },
    { ...k, shape: [batch, heads, rank * stateDim] },
    { ...angle, shape: [batch, heads, angles] },
  ];
}

/** Whether the chunked forward writes its four results from one program: where the device binds `CHUNK_FINISH_BUFFERS`. */
function fusesFinish(): boolean {
  return webgpuStorageBufferLimit() >= CHUNK_FINISH_BUFFERS;
}

/** The chunked forward from a given state (`mamba3ChunkPartsOp`); `fusedFinish` (tests) forces either form of its end. */
export function chunkWebGPU(ctx: WebGPUKernelContext<KernelInput, KernelAttrs>, fusedFinish = fusesFinish()): TensorInfo[] {
  const { ssm, k, v, angle } = ctx.inputs;
  return chunkPipeline(ctx.inputs, { ssm, k, v, angle }, ctx.attrs.rank, ctx, fusedFinish);
}

/** The chunked forward from a zero state (`mamba3ChunkFromZeroOp`): no state to bind, none to allocate. */
export function chunkFromZeroWebGPU(ctx: WebGPUKernelContext<SequenceInput, KernelAttrs>, fusedFinish = fusesFinish()): TensorInfo[] {
  return chunkPipeline(ctx.inputs, undefined, ctx.attrs.rank, ctx, fusedFinish);
}

/**
 * One decoding step on WebGPU: StepProgram, one dispatch writing all four results, where the device binds its 16
 * storage buffers (the H100 and lavapipe); elsewhere one program per result (`stepProgramsWebGPU`). Returns
 * `[y, ssm, k, angle]`.
 */
export function stepWebGPU(ctx: WebGPUKernelContext<KernelInput, KernelAttrs>): TensorInfo[] {
  const limit = webgpuStorageBufferLimit();
  if (limit >= STEP_BUFFERS) return stepFusedWebGPU(ctx);
  return stepProgramsWebGPU(ctx, limit >= STEP_STATE_INLINE_BUFFERS);
}

function stepShapes(inputs: Record<KernelInput, TensorInfo>, rank: number): { batch: number; heads: number; layout: KernelLayout } {
  const { x, B, theta } = inputs;
  const [batch, heads, rp] = x.shape as [number, number, number];
  const layout = kernelLayout(batch, heads, 1, rank, rp / rank, (B.shape[2] as number) / rank, theta.shape[2] as number);
  return { batch, heads, layout };
}

/** The decoding step as the one StepProgram (16 storage buffers). */
export function stepFusedWebGPU({ inputs, attrs, runOutputs }: WebGPUKernelContext<KernelInput, KernelAttrs>): TensorInfo[] {
  const { x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle } = inputs;
  const rank = attrs.rank;
  const { batch, heads, layout } = stepShapes(inputs, rank);
  const { rows, headDim, stateDim, angles } = layout;
  const uniforms = [...layoutUniforms(layout), ...scalarUniforms('int32', [Math.ceil(headDim / STEP_TILE_ROWS)])];
  return runOutputs(
    new StepProgram(rows, headDim),
    [x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle],
    [
      { shape: [batch, heads, rank * headDim] },
      { shape: [batch, heads, headDim, stateDim] },
      { shape: [batch, heads, rank * stateDim] },
      { shape: [batch, heads, angles] },
    ],
    uniforms,
  );
}

/**
 * The decoding step as one program per result, for devices that bind fewer than StepProgram's 16 storage buffers:
 * the new angles, the rotated keys, the state (which computes (α, β, γ) itself where the device binds 9 storage
 * buffers, `inlineCoef`, else after a program of its own), then y read from the new state. Four programs, or five
 * where WebGPU's 8 is all there is; tests run every variant.
 */
export function stepProgramsWebGPU(
  { inputs, attrs, run, dispose }: WebGPUKernelContext<KernelInput, KernelAttrs>,
  inlineCoef: boolean,
): TensorInfo[] {
  const { x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle } = inputs;
  const rank = attrs.rank;
  const { batch, heads, layout } = stepShapes(inputs, rank);
  const { rows, headDim, stateDim, angles } = layout;
  const uniforms = layoutUniforms(layout);
  const newAngle = run(new StepAngleProgram(rows, angles), [dt, theta, angle], 'float32', uniforms);
  const newKey = run(new StepKeyProgram(rows, rank * stateDim), [B, newAngle], 'float32', uniforms);
  let newState: TensorInfo;
  if (inlineCoef) {
    newState = run(new StepStateProgram(rows, headDim, stateDim, true), [x, dt, A, lambda, newKey, ssm, k, v], 'float32', uniforms);
  } else {
    const coef = run(new StepCoefProgram(rows), [dt, A, lambda], 'float32', uniforms);
    newState = run(new StepStateProgram(rows, headDim, stateDim), [x, coef, newKey, ssm, k, v], 'float32', uniforms);
    dispose(coef);
  }
  const y = run(new StepOutputProgram(rows, rank * headDim), [newState, C, newAngle, x, D], 'float32', uniforms);
  return [
    { ...y, shape: [batch, heads, rank * headDim] },
    { ...newState, shape: [batch, heads, headDim, stateDim] },
    { ...newKey, shape: [batch, heads, rank * stateDim] },
    { ...newAngle, shape: [batch, heads, angles] },
  ];
}
