import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { AngleProgram } from './angle.program.js';
import { ChunkOutputProgram } from './chunk-output.program.js';
import { ChunkStartProgram } from './chunk-start.program.js';
import { ChunkStateProgram } from './chunk-state.program.js';
import type { KernelAttrs, KernelInput } from './kernel-inputs.js';
import { kernelLayout, layoutUniforms } from './kernel-layout.js';
import { PrefixProgram } from './prefix.program.js';
import { StatePassProgram } from './state-pass.program.js';
import { TokenProgram } from './token.program.js';

/**
 * The chunked forward on WebGPU, as mamba_ssm's SSD pipeline: per-token coefficients → chunk-local
 * prefix sums → chunk-start angles (scan) → absolute angles → chunk-local states → state passing
 * (scan) → chunk outputs. Every sequential scan runs over chunks, not tokens.
 */
export function chunkWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<KernelInput, KernelAttrs>): TensorInfo {
  const { x, dt, A, B, C, lambda, theta, D, ssm, k, v, angle } = inputs;
  const [batch, heads, seqLen, rp] = x.shape as [number, number, number, number];
  const rank = attrs.rank;
  const layout = kernelLayout(batch, heads, seqLen, rank, rp / rank, (B.shape[3] as number) / rank, theta.shape[3] as number);
  const { rows, chunks, headDim, stateDim, angles, width } = layout;
  const uniforms = layoutUniforms(layout);
  const pTiles = Math.ceil(headDim / 64);
  const nTiles = Math.ceil(stateDim / 64);

  const tok = run(new TokenProgram(rows * seqLen), [dt, A, lambda], 'float32', uniforms);
  const prefix = run(new PrefixProgram(rows, seqLen, chunks, angles), [theta, tok], 'float32', uniforms);
  const starts = run(new ChunkStartProgram(rows, chunks, angles), [prefix, angle], 'float32', uniforms);
  const ang = run(new AngleProgram(rows, seqLen, angles), [prefix, starts], 'float32', uniforms);
  dispose(prefix);
  dispose(starts);
  const local = run(new ChunkStateProgram(rows, chunks, headDim, stateDim, pTiles, nTiles), [x, B, ang, tok], 'float32', [
    ...uniforms,
    ...scalarUniforms('int32', [pTiles, nTiles]),
  ]);
  const states = run(new StatePassProgram(rows, chunks, headDim, stateDim), [local, ang, tok, ssm, k, v], 'float32', uniforms);
  dispose(local);
  const packed = run(new ChunkOutputProgram(rows, width, chunks, pTiles), [x, B, C, ang, tok, states, D], 'float32', [
    ...uniforms,
    ...scalarUniforms('int32', [pTiles]),
  ]);
  dispose(tok);
  dispose(ang);
  dispose(states);
  return { ...packed, shape: [batch, heads, width] };
}
