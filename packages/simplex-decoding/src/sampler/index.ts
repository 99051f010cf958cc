export { createSampler, type SampleContext, type SampledTokens, type Sampler } from './create-sampler.js';
export type { TokenHistory } from './penalties.js';
export type { RegularizerSpec, SamplerSpec } from './spec.js';
