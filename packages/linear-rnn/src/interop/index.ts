export { type CausalLMState, type CausalLMStepResult, FlaCausalLM, type FlaCausalLMOptions } from './causal-lm.js';
export {
  deltaNetOptionsFromFla,
  type FlaDeltaNetConfig,
  type FlaGatedDeltaNetConfig,
  type FlaLayerExtras,
  type FlaModelType,
  flaIntermediateSize,
  gatedDeltaNetOptionsFromFla,
  parseFlaConfig,
  type ParsedFlaConfig,
} from './fla-config.js';
export { type CheckpointFiles, loadCausalLM, saveCheckpoint } from './load.js';
