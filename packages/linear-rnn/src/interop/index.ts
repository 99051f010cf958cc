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
export { type CheckpointFiles, loadCausalLM, loadMambaLM, saveCheckpoint } from './load.js';
export {
  MAMBA_CONFIG_DEFAULTS,
  type MambaLayerExtras,
  type MambaSsmConfig,
  mamba3OptionsFromMamba,
  type ParsedMambaConfig,
  parseMambaConfig,
} from './mamba-config.js';
export { MambaLM, type MambaLMOptions, type MambaLMState, type MambaLMStepResult } from './mamba-lm.js';
export { type Decodable, type StepAdapter, toStepModel } from './step-model.js';
