export { type AttentionOptions, attention, attentionWithLse } from './attention/index.js';
export { BlockMask, type FromDenseOptions } from './block-mask/index.js';
export { type BlockSparseAttentionOptions, blockSparseAttention } from './block-sparse/index.js';
export {
  type BlockScoresOptions,
  blockScores,
  type HybridMaskOptions,
  hybridMask,
  type SpargeV1MaskOptions,
  spargeV1Mask,
  type TopKMaskOptions,
  topKMask,
  type TopPMaskOptions,
  topPMask,
} from './masks/index.js';
export { type TwilightMaskOptions, twilightMask } from './twilight/index.js';
export { type SpargeAttentionOptions, type SpargeAttentionResult, spargeAttention } from './sparge-attention/index.js';
export { type AttentionMode, SparseAttention, type SparseAttentionLayerOptions, type SparseAttentionOutput } from './layers/index.js';
export {
  distill,
  type DistillBatches,
  type DistillOptions,
  type DistillReport,
  type DistillStepInfo,
  type DistillStudent,
  type FlowLoss,
  type FlowLossOptions,
  type FlowSample,
  flowMatchingLoss,
  flowSample,
  flowSampleSpan,
  MAX_DISTILL_STEPS,
  type VelocityModel,
  type VelocityPrediction,
  velocityDistillationLoss,
} from './distill/index.js';
