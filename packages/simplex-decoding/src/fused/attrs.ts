import type { SelectPath } from '../closed-forms/radix-layout.js';

/**
 * The fused sampler's WebGPU selection: the closed forms' paths ('row': one workgroup per row; 'split': the
 * radix passes, radix-draw.ts; 'auto': by shape) and 'candidates', each split's top-k from registers and
 * one merge (candidates-draw.ts), for a top-k of at most `CANDIDATES_K_CAP` ('auto' takes it there on the shapes
 * the radix passes would take).
 */
export type SamplerPath = SelectPath | 'candidates';

/** Kernel attributes of the fused sampler, validated by `sampleFromLogits`: k = 0 and p = 1 mean off. */
export interface FusedAttrs {
  temperature: number;
  k: number;
  p: number;
  pMin: number;
  /**
   * WebGPU only: one workgroup per row ('row'), the radix select ('split'), the split candidates
   * ('candidates'), or by shape ('auto', default: `useRadixDraw`).
   */
  select?: SamplerPath;
  /** WebGPU split paths only: splits per row instead of `radixGrid`'s (or `candidateGrid`'s) choice (tests: many splits on short rows). */
  splits?: number;
}

/** Attributes of `fusedSampleIdsOp`: the filters, and the Philox stream of the row uniforms (row b at offset + b). */
export interface FusedIdsAttrs extends FusedAttrs {
  seed: number;
  offset: number;
}
