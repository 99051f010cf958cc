import { defineOp, type GradientSpec, type Tensor, tf, vjp } from '@tessera/tensor-core';
import { chunkForward } from './chunk.js';
import { chunkWebGPU } from './chunk-kernel.js';
import { KERNEL_INPUTS, type KernelAttrs, type KernelInput, type KernelTensors } from './kernel-inputs.js';
import { pack } from './packing.js';
import { stepReference } from './reference.js';
import { stepWebGPU } from './step-kernel.js';

function named(xs: readonly Tensor[]): KernelTensors {
  return Object.fromEntries(KERNEL_INPUTS.map((name, i) => [name, xs[i] as Tensor])) as KernelTensors;
}

/**
 * The gradient of a kernel, routed through its differentiable tfjs form: the WGSL forward is used in
 * training while tfjs autodiff supplies the backward pass.
 */
function gradientThrough(packed: (t: KernelTensors, attrs: KernelAttrs) => Tensor): GradientSpec<KernelInput, KernelAttrs> {
  return {
    inputsToSave: KERNEL_INPUTS,
    grad: (dy, saved, attrs) => {
      const grads = vjp((...xs) => packed(named(xs), attrs), saved, dy);
      return Object.fromEntries(KERNEL_INPUTS.map((name, i) => [name, () => grads[i] as Tensor]));
    },
  };
}

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

/**
 * The chunked Mamba-3 forward over a sequence: tfjs chunked form as the reference, WGSL on WebGPU.
 * Returns the packed `[B, H, L·R·P + P·N + R·N + Nr]` (see packing.ts).
 */
export const mamba3ChunkOp = defineOp<KernelInput, KernelAttrs>({
  kernelName: 'TesseraMamba3Chunk',
  inputs: KERNEL_INPUTS,
  reference: packedChunk,
  webgpu: chunkWebGPU,
  gradient: gradientThrough(packedChunk),
});

/** One decoding step: the tfjs step reference, WGSL on WebGPU. Packed as `mamba3ChunkOp` with L = 1. */
export const mamba3StepOp = defineOp<KernelInput, KernelAttrs>({
  kernelName: 'TesseraMamba3Step',
  inputs: KERNEL_INPUTS,
  reference: packedStep,
  webgpu: stepWebGPU,
  gradient: gradientThrough(packedStep),
});
