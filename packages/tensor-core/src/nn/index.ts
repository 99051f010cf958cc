export { Linear, type LinearOptions } from './linear.js';
export { GatedRMSNorm, type NormOptions, RMSNorm } from './rms-norm.js';
