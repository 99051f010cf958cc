import {
  type ProgramUniform,
  scalarUniforms,
  type TensorInfo,
  type WebGPUKernelContext,
  type WebGPUProgram,
  webgpuStorageBufferLimit,
} from '@tessera/tensor-core';
import { ChunkLocalProgram } from './chunk-local.program.js';
import { ChunkOutputProgram } from './chunk-output.program.js';
import { ChunkScanProgram } from './chunk-scan.program.js';
import { FinalKeyProgram } from './final-key.program.js';
import { FinalRowProgram } from './final-row.program.js';
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
 * The programs of the chunked forward (bench/mamba3-passes times each): 'scan' alone, or 'local' then 'pass'
 * ('passFromState' with an initial state), make the token and state tables; then 'output' (y) and the three
 * final-state programs.
 */
export type ChunkStageName = 'scan' | 'local' | 'pass' | 'passFromState' | 'output' | 'finalState' | 'finalAngle' | 'finalKey';

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
  const { rows, headDim, stateDim, angles, rank } = layout;
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
    case 'output':
      return { program: new ChunkOutputProgram(layout, pTiles), uniforms: [...uniforms, ...scalarUniforms('int32', [pTiles])] };
    case 'finalState':
      return {
        program: new FinalRowProgram(rows, headDim * stateDim),
        uniforms: [...uniforms, ...scalarUniforms('int32', [0, headDim * stateDim])],
      };
    case 'finalAngle':
      return {
        program: new FinalRowProgram(rows, angles),
        uniforms: [...uniforms, ...scalarUniforms('int32', [headDim * stateDim, angles])],
      };
    case 'finalKey':
      return { program: new FinalKeyProgram(rows, rank * stateDim), uniforms };
  }
}

/** The layout of a call, from the kernel inputs' shapes. */
export function chunkLayout(inputs: Record<SequenceInput, Pick<TensorInfo, 'shape'>>, rank: number): KernelLayout {
  const { x, B, theta } = inputs;
  const [batch, heads, seqLen, rp] = x.shape as [number, number, number, number];
  return kernelLayout(batch, heads, seqLen, rank, rp / rank, (B.shape[3] as number) / rank, theta.shape[3] as number);
}

type Run = WebGPUKernelContext<KernelInput, KernelAttrs>['run'];

/**
 * The chunked forward on WebGPU, as mamba_ssm's SSD pipeline (papers/linear_rnn.md 1.6), in five or six
 * programs: the token table (per token: the angle since the chunk start, the chunk-local log-decay cumsum, γ,
 * scale) and the state table (per chunk: the state and angles entering it; then the final ones), made either
 * by ChunkScanProgram alone (short inputs from a zero state: one workgroup per state tile walks the chunks) or
 * by ChunkLocalProgram (in parallel over chunks) and StatePassProgram (a scan over chunks); then y from both
 * tables, and the final state, angles and rotated keys from the state table's last rows — each result its own
 * tensor, since a program writes one tensor and a packed result would cost a slice per part.
 * Returns `[y, ssm, k, angle]`; `state` is absent for a zero initial state.
 */
function chunkPipeline(
  inputs: Record<SequenceInput, TensorInfo>,
  state: Record<'ssm' | 'k' | 'v' | 'angle', TensorInfo> | undefined,
  rank: number,
  run: Run,
  dispose: (info: TensorInfo) => void,
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
  const y = stage('output', [x, B, C, tokens, states, D]);
  const ssm = stage('finalState', [states]);
  const angle = stage('finalAngle', [states]);
  const k = stage('finalKey', [B, states]);
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

/** The chunked forward from a given state (`mamba3ChunkPartsOp`). */
export function chunkWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<KernelInput, KernelAttrs>): TensorInfo[] {
  const { ssm, k, v, angle } = inputs;
  return chunkPipeline(inputs, { ssm, k, v, angle }, attrs.rank, run, dispose);
}

/** The chunked forward from a zero state (`mamba3ChunkFromZeroOp`): no state to bind, none to allocate. */
export function chunkFromZeroWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<SequenceInput, KernelAttrs>): TensorInfo[] {
  return chunkPipeline(inputs, undefined, attrs.rank, run as Run, dispose);
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
