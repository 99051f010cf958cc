export {
  distill,
  type DistillBatches,
  type DistillOptions,
  type DistillReport,
  type DistillStepInfo,
  type DistillStudent,
  MAX_DISTILL_STEPS,
} from './distill.js';
export { type FlowSample, flowSample, flowSampleSpan } from './interpolate.js';
export {
  type FlowLoss,
  type FlowLossOptions,
  flowMatchingLoss,
  type VelocityModel,
  type VelocityPrediction,
  velocityDistillationLoss,
} from './losses.js';
