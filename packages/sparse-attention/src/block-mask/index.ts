export { BlockMask, blockMaskOfLists } from './block-mask.js';
export { compactKernel } from './kernel.js';
export { compactHost, compactOp, sparsityOp, transposeListsHost, transposeListsOp } from './op.js';
export { compactReference, transposeListsReference } from './reference.js';
export { checkBlock, checkBlockSize, type FromDenseOptions, MAX_BLOCKS } from './validate.js';
