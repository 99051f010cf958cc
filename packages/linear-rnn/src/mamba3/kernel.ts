import { type ProgramUniform, scalarUniforms, type TensorInfo, type WebGPUKernelContext, type WebGPUProgram } from '@tessera/tensor-core';
import { AngleProgram } from './angle.program.js';
import { ChunkOutputProgram } from './chunk-output.program.js';
import { ChunkStartProgram } from './chunk-start.program.js';
import { ChunkStateProgram } from './chunk-state.program.js';
import type { KernelAttrs, KernelInput } from './kernel-inputs.js';
import { type KernelLayout, kernelLayout, layoutUniforms } from './kernel-layout.js';
import { PrefixProgram } from './prefix.program.js';
import { StatePassProgram } from './state-pass.program.js';
import { StepProgram } from './step.program.js';
import { StepPrepProgram } from './step-prep.program.js';
import { TokenProgram } from './token.program.js';

/** One WGSL program of the chunked forward and the uniforms it runs with. */
export interface ChunkStage {
  program: WebGPUProgram;
  uniforms: ProgramUniform[];
}

/** The seven programs of the chunked forward, in the order they run (bench/mamba3-passes times each). */
export type ChunkStageName = 'token' | 'prefix' | 'chunkStart' | 'angle' | 'chunkState' | 'statePass' | 'chunkOutput';

/**
 * A fresh program for one run of a stage; its inputs are wired in `chunkWebGPU`. Never reuse the
 * program object: tfjs' backend appends the input shapes to `shaderKey` on every run, so a reused
 * program misses the pipeline cache and recompiles each time.
 */
export function chunkStage(layout: KernelLayout, name: ChunkStageName): ChunkStage {
  const { rows, seqLen, chunks, headDim, stateDim, angles, width } = layout;
  const uniforms = layoutUniforms(layout);
  const pTiles = Math.ceil(headDim / 64);
  const nTiles = Math.ceil(stateDim / 64);
  switch (name) {
    case 'token':
      return { program: new TokenProgram(rows * seqLen), uniforms };
    case 'prefix':
      return { program: new PrefixProgram(rows, seqLen, chunks, angles), uniforms };
    case 'chunkStart':
      return { program: new ChunkStartProgram(rows, chunks, angles), uniforms };
    case 'angle':
      return { program: new AngleProgram(rows, seqLen, angles), uniforms };
    case 'chunkState':
      return {
        program: new ChunkStateProgram(rows, chunks, headDim, stateDim, pTiles, nTiles),
        uniforms: [...uniforms, ...scalarUniforms('int32', [pTiles, nTiles])],
      };
    case 'statePass':
      return { program: new StatePassProgram(rows, chunks, headDim, stateDim), uniforms };
    case 'chunkOutput':
      return {
        program: new ChunkOutputProgram(rows, width, chunks, pTiles),
        uniforms: [...uniforms, ...scalarUniforms('int32', [pTiles])],
      };
  }
}

/** The layout of a call, from the kernel inputs' shapes. */
export function chunkLayout(inputs: Record<KernelInput, Pick<TensorInfo, 'shape'>>, rank: number): KernelLayout {
  const { x, B, theta } = inputs;
  const [batch, heads, seqLen, rp] = x.shape as [number, number, number, number];
  return kernelLayout(batch, heads, seqLen, rank, rp / rank, (B.shape[3] as number) / rank, theta.shape[3] as number);
}

/**
 * The chunked forward on WebGPU, as mamba_ssm's SSD pipeline: per-token coefficients → chunk-local
 * prefix sums → chunk-start angles (scan) → absolute angles → chunk-local states → state passing
 * (scan) → chunk outputs. Every sequential scan runs over chunks, not tokens.
 */
export function chunkWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<KernelInput, KernelAttrs>): TensorInfo {
  const { x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle } = inputs;
  const layout = chunkLayout(inputs, attrs.rank);
  const stage = (name: ChunkStageName, stageInputs: TensorInfo[]): TensorInfo => {
    const { program, uniforms } = chunkStage(layout, name);
    return run(program, stageInputs, 'float32', uniforms);
  };
  const tok = stage('token', [dt, A, lambda]);
  const prefix = stage('prefix', [theta, tok]);
  const starts = stage('chunkStart', [prefix, angle]);
  const ang = stage('angle', [prefix, starts]);
  dispose(prefix);
  dispose(starts);
  const local = stage('chunkState', [x, B, ang, tok]);
  const states = stage('statePass', [local, ang, tok, ssm, k, v]);
  dispose(local);
  const packed = stage('chunkOutput', [x, B, C, ang, tok, states, D]);
  dispose(tok);
  dispose(ang);
  dispose(states);
  return { ...packed, shape: [layout.rows / layout.heads, layout.heads, layout.width] };
}

/** One decoding step on WebGPU: coefficients, angle and rotations (one dispatch), then the state update and read-out. */
export function stepWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<KernelInput, KernelAttrs>): TensorInfo {
  const { x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle } = inputs;
  const [batch, heads, rp] = x.shape as [number, number, number];
  const rank = attrs.rank;
  const layout = kernelLayout(batch, heads, 1, rank, rp / rank, (B.shape[2] as number) / rank, theta.shape[2] as number);
  const uniforms = layoutUniforms(layout);
  const prepWidth = 4 + layout.angles + 2 * rank * layout.stateDim;
  const prep = run(new StepPrepProgram(layout.rows, prepWidth), [dt, A, lambda, theta, angle, B, C], 'float32', uniforms);
  const packed = run(new StepProgram(layout.rows, layout.width), [x, prep, D, ssm, k, v], 'float32', uniforms);
  dispose(prep);
  return { ...packed, shape: [batch, heads, layout.width] };
}
