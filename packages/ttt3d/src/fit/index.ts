export { fitGaussians, type FitHistoryEntry, type FitResult } from './fit.js';
export type { FitBounds, FitDensifyOptions, FitInit, FitLearningRates, FitOptions, FitStepInfo } from './options.js';
export type { LossWeights } from './loss.js';
