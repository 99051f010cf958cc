import { defineOp, type Tensor } from '@tessera/tensor-core';
import type { FusedAttrs } from './attrs.js';
import { fusedHost } from './host.js';
import { fusedWebGPU } from './kernel.js';
import { fusedReference } from './reference.js';

/**
 * `logits: [B, V]`, `u: [B]` → `[B, 2]` (id, logprob), with the non-finite rules of `sampleFromLogits`.
 * WebGPU: the selection program (row flags for NaN and +∞, pivot search, and the draw itself when the
 * kept set fits in workgroup memory), then for the other rows the blocked inverse CDF of `sample` over
 * the kept weights (kernel.ts). The host kernel also serves WASM, where it beats the composite (which
 * needs a full top-k sort for top-p).
 */
export const fusedSampleOp = defineOp<'logits' | 'u', FusedAttrs>({
  kernelName: 'TesseraSampleFromLogits',
  inputs: ['logits', 'u'],
  reference: ({ logits, u }, attrs) => fusedReference(logits as Tensor, u as Tensor, attrs),
  hostBackends: ['cpu', 'wasm'],
  host: ({ logits, u }, attrs) => fusedHost(logits, u, attrs),
  webgpu: fusedWebGPU,
});
