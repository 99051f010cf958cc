import type { Tensor } from '@tessera/tensor-core';

/** The per-token inputs of the Mamba-3 kernels (A already expanded to dt's shape, D present), in call order. */
export const SEQUENCE_INPUTS = ['x', 'dt', 'A', 'B', 'C', 'lambda', 'theta', 'D'] as const;
export type SequenceInput = (typeof SEQUENCE_INPUTS)[number];

/** Inputs of the Mamba-3 kernels, in call order: the per-token tensors, then the incoming state. */
export const KERNEL_INPUTS = [...SEQUENCE_INPUTS, 'ssm', 'k', 'v', 'angle'] as const;
export type KernelInput = (typeof KERNEL_INPUTS)[number];
export type KernelTensors = Record<KernelInput, Tensor>;

/** Kernel attributes: the MIMO rank and (sequence kernels) the tfjs chunk size. */
export interface KernelAttrs {
  rank: number;
  chunkSize: number;
}
