import { defineOp, gradientThroughReference, type Tensor, tf } from '@tessera/tensor-core';
import { chunkForward } from './chunk.js';
import { chunkWebGPU, stepWebGPU } from './kernel.js';
import { KERNEL_INPUTS, type KernelAttrs, type KernelInput, type KernelTensors } from './kernel-inputs.js';
import { pack } from './packing.js';
import { mamba3Host } from './recurrence.host.js';
import { stepReference } from './reference.js';

function packedChunk(t: KernelTensors, attrs: KernelAttrs): Tensor {
  return tf.tidy(() => {
    const out = chunkForward(t, attrs);
    return pack(out.y, out.ssm, out.k, out.angle);
  });
}

function packedStep(t: KernelTensors, attrs: KernelAttrs): Tensor {
  return tf.tidy(() => {
    const out = stepReference(t, attrs.rank);
    return pack(out.y, out.ssm, out.k, out.angle);
  });
}

// The WGSL and host forwards train too: their gradient is the VJP of the tfjs form they are tested against.
// The host recurrence runs on cpu and wasm, where it beats both composites, each many small tfjs kernels per
// call (bench/mamba3.bench.ts at H = 4, P = N = 64; README).

/**
 * The chunked Mamba-3 forward over a sequence: tfjs chunked form as the reference, WGSL on WebGPU, the host
 * recurrence on cpu and wasm.
 * Returns the packed `[B, H, L·R·P + P·N + R·N + Nr]` (see packing.ts).
 */
export const mamba3ChunkOp = defineOp<KernelInput, KernelAttrs>({
  kernelName: 'TesseraMamba3Chunk',
  inputs: KERNEL_INPUTS,
  reference: packedChunk,
  host: (t, attrs) => mamba3Host(t, attrs.rank, false),
  hostBackends: ['cpu', 'wasm'],
  webgpu: chunkWebGPU,
  gradient: gradientThroughReference(KERNEL_INPUTS, packedChunk),
});

/** One decoding step: the tfjs step reference, WGSL on WebGPU, the host step on cpu and wasm. Packed as `mamba3ChunkOp` with L = 1. */
export const mamba3StepOp = defineOp<KernelInput, KernelAttrs>({
  kernelName: 'TesseraMamba3Step',
  inputs: KERNEL_INPUTS,
  reference: packedStep,
  host: (t, attrs) => mamba3Host(t, attrs.rank, true),
  hostBackends: ['cpu', 'wasm'],
  webgpu: stepWebGPU,
  gradient: gradientThroughReference(KERNEL_INPUTS, packedStep),
});
