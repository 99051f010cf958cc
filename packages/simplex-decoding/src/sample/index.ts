export { sample } from './sample.js';
export type { SampledIds } from './draws.js';
export type { SampleOptions } from './options.js';
