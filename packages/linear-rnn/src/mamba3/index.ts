export { mamba3, mamba3Step, mamba3ZeroState } from './mamba3.js';
export type {
  Mamba3Inputs,
  Mamba3Mode,
  Mamba3Options,
  Mamba3Result,
  Mamba3State,
  Mamba3StepInputs,
  Mamba3StepResult,
} from './types.js';
