export * from './delta-rule/index.js';
export * from './gated-delta-rule/index.js';
export * from './efla/index.js';
export * from './mamba3/index.js';
export * from './layers/index.js';
export { MAX_CHUNK_SIZE, MAX_TENSOR_ELEMENTS } from './checks.js';
export * from './interop/index.js';
