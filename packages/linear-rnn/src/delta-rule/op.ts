import { defineOp, gradientThroughReference, type HostBackend, type HostTensor, type Op, type Tensor } from '@tessera/tensor-core';
import { deltaRuleChunked } from './chunk.js';
import {
  chunkWebGPU,
  type DeltaKernelAttrs,
  GATED_INPUTS,
  type GatedInput,
  type KernelInput,
  PLAIN_INPUTS,
  type PlainInput,
  stepWebGPU,
} from './kernel.js';
import { deltaRuleHost } from './recurrence.host.js';
import { deltaStepReference } from './reference.js';
import type { DeltaInputs } from './types.js';

export type { DeltaKernelAttrs } from './kernel.js';

function asDeltaInputs(t: Partial<Record<KernelInput, Tensor>>): DeltaInputs {
  return { q: t.q as Tensor, k: t.k as Tensor, v: t.v as Tensor, beta: t.beta as Tensor, g: t.g, state: t.state as Tensor };
}

/** `[output, finalState]` of the tfjs chunked form. */
function chunkReference(t: Partial<Record<KernelInput, Tensor>>, attrs: DeltaKernelAttrs): Tensor[] {
  const r = deltaRuleChunked(asDeltaInputs(t), attrs.chunkSize, attrs.scale);
  return [r.output, r.finalState];
}

/** `[output, finalState]` of the tfjs step. */
function stepReference(t: Partial<Record<KernelInput, Tensor>>, attrs: DeltaKernelAttrs): Tensor[] {
  const r = deltaStepReference(asDeltaInputs(t), attrs.scale);
  return [r.output, r.finalState];
}

/** The host recurrence as a kernel of the chunk (`step` false) or step ops. */
function host(step: boolean) {
  return (t: Partial<Record<KernelInput, HostTensor>>, attrs: DeltaKernelAttrs): HostTensor[] =>
    deltaRuleHost(
      {
        q: t.q as HostTensor,
        k: t.k as HostTensor,
        v: t.v as HostTensor,
        beta: t.beta as HostTensor,
        g: t.g,
        state: t.state as HostTensor,
      },
      attrs.scale,
      step,
    );
}

/**
 * Where the host recurrence replaces the tfjs composite (bench/delta-rule.bench.ts, H = 4, Dk = Dv = 64; README).
 * Sequences on both: the chunked composite is hundreds of small kernels per call (wasm: 3–9× at L = 256 and
 * 1024). Steps on cpu only: wasm's composite step is ten XNNPACK kernels that vectorise the O(Dk·Dv) work the
 * scalar JS loop does (0.8–0.9× at batch 1, 0.6–0.7× at batch 16).
 */
const SEQUENCE_HOSTS: readonly HostBackend[] = ['cpu', 'wasm'];
const STEP_HOSTS: readonly HostBackend[] = ['cpu'];

// The WGSL and host forwards train too: their gradient is the VJP of the tfjs form they are tested against.

/**
 * Chunked delta rule → `[output [B, H, L, Dv], finalState [B, H, Dk, Dv]]`; tfjs chunked form as reference, WGSL on
 * WebGPU, the host recurrence on cpu and wasm.
 */
export const deltaRuleChunkOp: Op<PlainInput, DeltaKernelAttrs, Tensor[]> = defineOp<PlainInput, DeltaKernelAttrs, Tensor[]>({
  kernelName: 'TesseraDeltaRuleChunk',
  inputs: PLAIN_INPUTS,
  outputs: 2,
  reference: chunkReference,
  host: host(false),
  hostBackends: SEQUENCE_HOSTS,
  webgpu: chunkWebGPU<PlainInput>(false),
  gradient: gradientThroughReference(PLAIN_INPUTS, chunkReference),
});

/** Chunked gated delta rule, outputs as `deltaRuleChunkOp`. */
export const gatedDeltaRuleChunkOp: Op<GatedInput, DeltaKernelAttrs, Tensor[]> = defineOp<GatedInput, DeltaKernelAttrs, Tensor[]>({
  kernelName: 'TesseraGatedDeltaRuleChunk',
  inputs: GATED_INPUTS,
  outputs: 2,
  reference: chunkReference,
  host: host(false),
  hostBackends: SEQUENCE_HOSTS,
  webgpu: chunkWebGPU<GatedInput>(true),
  gradient: gradientThroughReference(GATED_INPUTS, chunkReference),
});

/**
 * One decode token → `[output [B, H, Dv], finalState [B, H, Dk, Dv]]`; the tfjs step as reference, WGSL on WebGPU,
 * the host step on cpu.
 */
export const deltaRuleStepOp: Op<PlainInput, DeltaKernelAttrs, Tensor[]> = defineOp<PlainInput, DeltaKernelAttrs, Tensor[]>({
  kernelName: 'TesseraDeltaRuleStep',
  inputs: PLAIN_INPUTS,
  outputs: 2,
  reference: stepReference,
  host: host(true),
  hostBackends: STEP_HOSTS,
  webgpu: stepWebGPU<PlainInput>(false),
  gradient: gradientThroughReference(PLAIN_INPUTS, stepReference),
});

/** One gated decode token, outputs as `deltaRuleStepOp`. */
export const gatedDeltaRuleStepOp: Op<GatedInput, DeltaKernelAttrs, Tensor[]> = defineOp<GatedInput, DeltaKernelAttrs, Tensor[]>({
  kernelName: 'TesseraGatedDeltaRuleStep',
  inputs: GATED_INPUTS,
  outputs: 2,
  reference: stepReference,
  host: host(true),
  hostBackends: STEP_HOSTS,
  webgpu: stepWebGPU<GatedInput>(true),
  gradient: gradientThroughReference(GATED_INPUTS, stepReference),
});
