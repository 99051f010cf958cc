export { gelu } from './activations.js';
export { LayerNorm, type LayerNormOptions } from './layer-norm.js';
export { Linear, type LinearOptions } from './linear.js';
export { GatedRMSNorm, type NormOptions, RMSNorm } from './rms-norm.js';
