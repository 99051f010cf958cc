export { sampleFromLogits, type SampleFromLogitsOptions } from './sample-from-logits.js';
