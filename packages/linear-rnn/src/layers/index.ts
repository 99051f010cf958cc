export { type ConvCallOptions, type ConvResult, ShortConvolution, type ShortConvolutionOptions } from './blocks.js';
// the shared building blocks live in tensor-core; re-exported so that fla-style imports from this package keep working
export { GatedRMSNorm, Linear, type LinearOptions, type NormOptions, RMSNorm } from '@tessera/tensor-core';
export {
  DeltaNet,
  type DeltaLayerOptions,
  type DeltaLayerResult,
  type DeltaLayerState,
  DeltaRuleLayer,
  type GatedDeltaLayerOptions,
  l2Normalize,
  type LayerCallOptions,
  type RuleInputs,
} from './delta-net.js';
export { EFLA } from './efla.js';
export { GatedDeltaNet } from './gated-delta-net.js';
export { Mamba3, type Mamba3Config, type Mamba3LayerResult } from './mamba3.js';
