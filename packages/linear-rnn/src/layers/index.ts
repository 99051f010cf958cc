export {
  type ConvCallOptions,
  type ConvResult,
  GatedRMSNorm,
  Linear,
  type LinearOptions,
  type NormOptions,
  RMSNorm,
  ShortConvolution,
  type ShortConvolutionOptions,
} from './blocks.js';
export {
  DeltaNet,
  type DeltaLayerOptions,
  type DeltaLayerResult,
  type DeltaLayerState,
  DeltaRuleLayer,
  l2Normalize,
  type LayerCallOptions,
  type RuleInputs,
} from './delta-net.js';
export { EFLA } from './efla.js';
export { GatedDeltaNet } from './gated-delta-net.js';
export { Mamba3, type Mamba3Config, type Mamba3LayerResult } from './mamba3.js';
