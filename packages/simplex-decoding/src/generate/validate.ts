import { checkRange, describeValue, ValueError } from '@tessera/tensor-core';
import type { Sampler } from '../sampler/index.js';
import type { StepModel } from './model.js';

export interface GenerateOptions {
  /** A sampler from `createSampler`. */
  sampler: Sampler;
  /** Most tokens to generate (an integer ≥ 0). */
  maxTokens: number;
  /** Token ids that end the sequence, or a predicate; the stop token is yielded, then the iterator ends. */
  stop?: readonly number[] | ((id: number) => boolean);
  /** Philox seed: the same seed, model and prompt reproduce the same tokens on every backend. */
  seed: number;
  /** Aborting ends the iterator with an `AbortError` (after the pending step's logits are freed). */
  signal?: AbortSignal;
}

/** Validates `generate`'s arguments and returns the stop test. */
export function checkGenerateArgs<S>(model: StepModel<S>, promptIds: readonly number[], opts: GenerateOptions): (id: number) => boolean {
  if (model === null || typeof model !== 'object' || typeof model.step !== 'function') {
    throw new ValueError(`model: expected an object with step(ids, state), received ${describeValue(model)}`);
  }
  if (!Array.isArray(promptIds) || promptIds.length === 0) {
    throw new ValueError(`promptIds: expected a non-empty array of token ids, received ${describeValue(promptIds)}`);
  }
  promptIds.forEach((id, i) => {
    checkRange(id, { min: 0, integer: true }, `promptIds[${i}]`);
  });
  if (opts === null || typeof opts !== 'object') {
    throw new ValueError(`options: expected { sampler, maxTokens, seed, stop?, signal? }, received ${describeValue(opts)}`);
  }
  const sampler = opts.sampler;
  if (sampler === null || typeof sampler !== 'object' || typeof sampler.sample !== 'function') {
    throw new ValueError(`sampler: expected a sampler from createSampler(spec), received ${describeValue(sampler)}`);
  }
  checkRange(opts.maxTokens, { min: 0, integer: true }, 'maxTokens');
  checkRange(opts.seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'seed');
  const signal = opts.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new ValueError(`signal: expected an AbortSignal, received ${describeValue(signal)}`);
  }
  const stop = opts.stop;
  if (stop === undefined) return () => false;
  if (typeof stop === 'function') return (id) => stop(id) === true;
  if (!Array.isArray(stop)) {
    throw new ValueError(`stop: expected an array of token ids or a function (id) => boolean, received ${describeValue(stop)}`);
  }
  stop.forEach((id, i) => {
    checkRange(id, { min: 0, integer: true }, `stop[${i}]`);
  });
  const set = new Set(stop);
  return (id) => set.has(id);
}
