export { BlockMask } from './block-mask.js';
export { compactOp } from './op.js';
export { checkBlock, checkBlockSize, type FromDenseOptions, MAX_BLOCKS } from './validate.js';
