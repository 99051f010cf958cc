import { defineOp, deviceZeros, gradientThroughReference, type Tensor, tf } from '@tessera/tensor-core';
import { chunkForward } from './chunk.js';
import { chunkFromZeroWebGPU, chunkWebGPU, stepWebGPU } from './kernel.js';
import {
  KERNEL_INPUTS,
  type KernelAttrs,
  type KernelInput,
  type KernelTensors,
  SEQUENCE_INPUTS,
  type SequenceInput,
} from './kernel-inputs.js';
import { pack, type Unpacked } from './packing.js';
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

function parts(out: Unpacked): Tensor[] {
  return [out.y, out.ssm, out.k, out.angle];
}

/** The zero state of a call's per-token tensors: `ssm [B, H, P, N]`, `k [B, H, R·N]`, `v [B, H, R·P]`, `angle [B, H, Nr]`. */
function zeroStateOf(t: Record<SequenceInput, Tensor>, rank: number): Pick<KernelTensors, 'ssm' | 'k' | 'v' | 'angle'> {
  const [b, h, , rp] = t.x.shape as [number, number, number, number];
  const rn = t.B.shape[3] as number;
  return {
    ssm: deviceZeros([b, h, rp / rank, rn / rank]),
    k: deviceZeros([b, h, rn]),
    v: deviceZeros([b, h, rp]),
    angle: deviceZeros([b, h, t.theta.shape[3] as number]),
  };
}

const chunkParts = (t: KernelTensors, attrs: KernelAttrs): Tensor[] => tf.tidy(() => parts(chunkForward(t, attrs)));
const chunkFromZeroParts = (t: Record<SequenceInput, Tensor>, attrs: KernelAttrs): Tensor[] =>
  tf.tidy(() => parts(chunkForward({ ...t, ...zeroStateOf(t, attrs.rank) }, attrs)));
const stepParts = (t: KernelTensors, attrs: KernelAttrs): Tensor[] => tf.tidy(() => parts(stepReference(t, attrs.rank)));

// The WGSL and host forwards train too: their gradient is the VJP of the tfjs form they are tested against.
// The host recurrence runs on cpu and wasm, where it beats both composites, each many small tfjs kernels per
// call (bench/mamba3.bench.ts at H = 4, P = N = 64; README).

/**
 * The chunked Mamba-3 forward over a sequence, packed: the tfjs chunked form as the reference, the host
 * recurrence on cpu and wasm. Returns `[B, H, L·R·P + P·N + R·N + Nr]` (see packing.ts). WebGPU runs
 * `mamba3ChunkPartsOp` instead.
 */
export const mamba3ChunkOp = defineOp<KernelInput, KernelAttrs>({
  kernelName: 'TesseraMamba3Chunk',
  inputs: KERNEL_INPUTS,
  reference: packedChunk,
  host: (t, attrs) => mamba3Host(t, attrs.rank, false),
  hostBackends: ['cpu', 'wasm'],
  gradient: gradientThroughReference(KERNEL_INPUTS, packedChunk),
});

/** One decoding step, packed as `mamba3ChunkOp` with L = 1: the tfjs step reference, the host step on cpu and wasm. */
export const mamba3StepOp = defineOp<KernelInput, KernelAttrs>({
  kernelName: 'TesseraMamba3Step',
  inputs: KERNEL_INPUTS,
  reference: packedStep,
  host: (t, attrs) => mamba3Host(t, attrs.rank, true),
  hostBackends: ['cpu', 'wasm'],
  gradient: gradientThroughReference(KERNEL_INPUTS, packedStep),
});

// On WebGPU every program is a dispatch of its own and the call's cost is mostly their count: the WebGPU ops
// return the four results as four tensors, written by the program that computes them (the step's one program
// writes all four, the chunked forward's output program y and the final state, through tensor-core's
// runOutputs), where a packed result would cost one slice program per part (kernel.ts).

/**
 * The chunked forward from a given state, as four tensors `[y [B, H, L, R·P], ssm, k, angle]`: WGSL on WebGPU
 * (its only kernel), the tfjs chunked form as the reference and the gradient.
 */
export const mamba3ChunkPartsOp = defineOp<KernelInput, KernelAttrs, Tensor[]>({
  kernelName: 'TesseraMamba3ChunkParts',
  inputs: KERNEL_INPUTS,
  outputs: 4,
  reference: chunkParts,
  webgpu: chunkWebGPU,
  gradient: gradientThroughReference(KERNEL_INPUTS, chunkParts),
});

/**
 * `mamba3ChunkPartsOp` from a zero state, which it neither takes nor allocates (four fills fewer per call; the
 * WGSL then runs the short-input scan program, see SCAN_MAX_CHUNKS).
 */
export const mamba3ChunkFromZeroOp = defineOp<SequenceInput, KernelAttrs, Tensor[]>({
  kernelName: 'TesseraMamba3ChunkFromZero',
  inputs: SEQUENCE_INPUTS,
  outputs: 4,
  reference: chunkFromZeroParts,
  webgpu: chunkFromZeroWebGPU,
  gradient: gradientThroughReference(SEQUENCE_INPUTS, chunkFromZeroParts),
});

/** One decoding step as four tensors `[y [B, H, R·P], ssm, k, angle]`: WGSL on WebGPU, the tfjs step as the reference. */
export const mamba3StepPartsOp = defineOp<KernelInput, KernelAttrs, Tensor[]>({
  kernelName: 'TesseraMamba3StepParts',
  inputs: KERNEL_INPUTS,
  outputs: 4,
  reference: stepParts,
  webgpu: stepWebGPU,
  gradient: gradientThroughReference(KERNEL_INPUTS, stepParts),
});
