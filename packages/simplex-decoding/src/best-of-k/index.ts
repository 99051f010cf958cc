export { bestOfK } from './best-of-k.js';
export { bokObjective } from './objective.js';
export type { BestOfKOptions, BokWeights } from './options.js';
export { BOK_PRESETS, type BokPresetName } from './presets.js';
export { coverageCurvature, defaultStepSize } from './step-size.js';
