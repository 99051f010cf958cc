export { denseAttention, unitNormalize } from './attention.js';
