/** Kernel attributes of the fused sampler, validated by `sampleFromLogits`: k = 0 and p = 1 mean off. */
export interface FusedAttrs {
  temperature: number;
  k: number;
  p: number;
  pMin: number;
}
