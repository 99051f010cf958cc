export { type BlockScoresOptions, blockScores } from './block-scores.js';
export { type HybridMaskOptions, hybridMask, type TopKMaskOptions, topKMask, type TopPMaskOptions, topPMask } from './hybrid.js';
export { blockScoresOp, selectListsOp, selectOp } from './op.js';
export { type SpargeV1MaskOptions, spargeV1Mask } from './sparge-v1.js';
