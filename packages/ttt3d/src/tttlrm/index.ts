export {
  CONFIG_KEYS as TTTLRM_CONFIG_KEYS,
  DEFAULT_TTTLRM_CONFIG,
  gaussianChannels,
  MAX_PATCH_SIZE,
  MAX_TTTLRM_DEPTH,
  MAX_TTTLRM_IMAGE_SIZE,
  type TTTLRMConfig,
} from './config.js';
export { decodeGaussians } from './decode.js';
export {
  TTTLRM,
  type TTTLRMForwardOptions,
  type TTTLRMLoadOptions,
  type TTTLRMReconstructOptions,
  TTTLRMStream,
} from './model.js';
export { MAX_TTTLRM_VIEWS } from './validate.js';
export { representativeCameras } from './virtual-views.js';
