import type { SelectPath } from '../closed-forms/radix-layout.js';

/** Kernel attributes of the fused sampler, validated by `sampleFromLogits`: k = 0 and p = 1 mean off. */
export interface FusedAttrs {
  temperature: number;
  k: number;
  p: number;
  pMin: number;
  /** WebGPU only: one workgroup per row ('row'), the radix select ('split'), or by shape ('auto', default: `useRadixDraw`). */
  select?: SelectPath;
  /** WebGPU radix select only: splits per row instead of `radixGrid`'s choice (tests: many splits on short rows). */
  splits?: number;
}

/** Attributes of `fusedSampleIdsOp`: the filters, and the Philox stream of the row uniforms (row b at offset + b). */
export interface FusedIdsAttrs extends FusedAttrs {
  seed: number;
  offset: number;
}
