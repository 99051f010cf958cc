import type { Tensor } from '@tessera/tensor-core';

/**
 * Inputs of the Mamba-3 kernels, in call order: per-token tensors (A already expanded to dt's shape,
 * D present), then the incoming state.
 */
export const KERNEL_INPUTS = ['x', 'dt', 'A', 'B', 'C', 'lambda', 'theta', 'D', 'ssm', 'k', 'v', 'angle'] as const;
export type KernelInput = (typeof KERNEL_INPUTS)[number];
export type KernelTensors = Record<KernelInput, Tensor>;

/** Kernel attributes: the MIMO rank and (sequence kernels) the tfjs chunk size. */
export interface KernelAttrs {
  rank: number;
  chunkSize: number;
}
