export { fitGaussians, type FitHistoryEntry, type FitResult } from './fit.js';
export {
  type FitBounds,
  type FitDensifyOptions,
  type FitInit,
  type FitLearningRates,
  type FitOptions,
  type FitStepInfo,
  MAX_FIT_GAUSSIANS,
  MAX_FIT_STEPS,
} from './options.js';
export type { LossWeights } from './loss.js';
