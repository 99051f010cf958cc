export { greedy } from './greedy.js';
export { softmax, type SoftmaxOptions } from './softmax.js';
export { topK, type TopKOptions } from './top-k.js';
export { topP, type TopPOptions } from './top-p.js';
export { minP, type MinPOptions } from './min-p.js';
export { typical, type TypicalOptions } from './typical.js';
export { epsilon, type EpsilonOptions } from './epsilon.js';
export { sparsemax, type SparsemaxOptions } from './sparsemax.js';
export { entmax, type EntmaxOptions } from './entmax.js';
