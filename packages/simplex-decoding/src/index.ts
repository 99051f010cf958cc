// The public map of @tessera/simplex-decoding. Internal helpers (logits validation, row reshaping) are
// not exported: options are checked with tensor-core's `checkOptions`, values with its `checkFinite`.

// softmax is tensor-core's, the same function under the same name (one softmax in Tessera): the
// temperature decoder of the family below.
export { type SoftmaxOptions, softmax } from '@tessera/tensor-core';
export {
  type EntmaxOptions,
  type EpsilonOptions,
  entmax,
  epsilon,
  type GreedyOptions,
  greedy,
  type MinPOptions,
  minP,
  type SparsemaxOptions,
  sparsemax,
  type TopKOptions,
  type TopPOptions,
  type TypicalOptions,
  topK,
  topP,
  typical,
} from './closed-forms/index.js';
export { ENTMAX_MAX_ITERATIONS } from './closed-forms/validate.js';
export { type KktObjective, type KktResiduals, kkt } from './kkt/index.js';
export { type SampledIds, type SampleOptions, sample } from './sample/index.js';
export { MAX_VOCAB } from './sample/layout.js';
export { type SampleFromLogitsOptions, sampleFromLogits } from './fused/index.js';
export {
  MIRROR_ASCENT_MAX_STEPS,
  type MirrorAscentOptions,
  type MirrorAscentResult,
  mirrorAscent,
} from './mirror-ascent/index.js';
export {
  BOK_MAX_STEPS,
  BOK_PRESETS,
  type BestOfKOptions,
  type BokPresetName,
  type BokWeights,
  bestOfK,
  bokObjective,
  coverageCurvature,
  defaultStepSize,
} from './best-of-k/index.js';
export {
  createSampler,
  type RegularizerSpec,
  type SampleContext,
  type SampledTokens,
  type Sampler,
  type SamplerSpec,
  type TokenHistory,
} from './sampler/index.js';
export {
  type Continuation,
  continuationSeed,
  GENERATE_MAX_TOKENS,
  type GeneratedToken,
  type GenerateOptions,
  generate,
  SAMPLE_N_MAX,
  type SampleNOptions,
  sampleN,
  type StepModel,
  type StepResult,
} from './generate/index.js';
