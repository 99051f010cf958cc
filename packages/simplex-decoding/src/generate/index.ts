export { AbortError } from './abort-error.js';
export { generate, type GeneratedToken } from './generate.js';
export type { StepModel, StepResult } from './model.js';
export type { GenerateOptions } from './options.js';
export { continuationSeed, sampleN, type Continuation, type SampleNOptions } from './sample-n.js';
