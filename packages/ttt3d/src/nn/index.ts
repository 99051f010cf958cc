export { denseAttention, gelu, unitNormalize } from './attention.js';
export { philoxNormal } from './init.js';
export { LayerNorm } from './layer-norm.js';
