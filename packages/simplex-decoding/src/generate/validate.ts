import { checkOptions, checkRange, describeValue, ValueError, checkSignal } from '@tessera/tensor-core';
import type { Sampler } from '../sampler/index.js';
import type { StepModel } from './model.js';

export interface GenerateOptions {
  /** A sampler from `createSampler`. */
  sampler: Sampler;
  /** Most tokens to generate, an integer in [0, `GENERATE_MAX_TOKENS`]. */
  maxTokens: number;
  /** Token ids that end the sequence, or a predicate; the stop token is yielded, then the iterator ends. */
  stop?: readonly number[] | ((id: number) => boolean);
  /** Philox seed: the same seed, model and prompt reproduce the same tokens on every backend. */
  seed: number;
  /** Aborting ends the iterator with an `AbortError` (after the pending step's logits are freed). */
  signal?: AbortSignal;
}

export interface SampleNOptions extends GenerateOptions {
  /** Number of continuations, an integer in [1, `SAMPLE_N_MAX`]. */
  n: number;
  /** Turns a continuation's ids into text; when given, each result carries `text`. */
  decode?: (ids: number[]) => string;
}

/** The most tokens one `generate` call produces (2²⁰). */
export const GENERATE_MAX_TOKENS = 2 ** 20;

/** The most continuations one `sampleN` call draws. */
export const SAMPLE_N_MAX = 4096;

const GENERATE_OPTIONS = ['sampler', 'maxTokens', 'stop', 'seed', 'signal'] as const;
const SAMPLE_N_OPTIONS = [...GENERATE_OPTIONS, 'n', 'decode'] as const;

/** Validates `generate`'s arguments (`sampleN`'s own keys allowed when `forSampleN`) and returns the stop test. */
export function checkGenerateArgs<S>(
  model: StepModel<S>,
  promptIds: readonly number[],
  options: GenerateOptions,
  forSampleN = false,
): (id: number) => boolean {
  if (model === null || typeof model !== 'object' || typeof model.step !== 'function') {
    throw new ValueError(`model: expected an object with step(ids, state), received ${describeValue(model)}`);
  }
  if (!Array.isArray(promptIds) || promptIds.length === 0) {
    throw new ValueError(`promptIds: expected a non-empty array of token ids, received ${describeValue(promptIds)}`);
  }
  promptIds.forEach((id, i) => {
    checkRange(id, { min: 0, integer: true }, `promptIds[${i}]`);
  });
  const opts = forSampleN ? checkOptions(options as SampleNOptions, SAMPLE_N_OPTIONS) : checkOptions(options, GENERATE_OPTIONS);
  const sampler = opts.sampler;
  if (sampler === null || typeof sampler !== 'object' || typeof sampler.sample !== 'function') {
    throw new ValueError(`sampler: expected a sampler from createSampler(spec), received ${describeValue(sampler)}`);
  }
  checkRange(opts.maxTokens, { min: 0, max: GENERATE_MAX_TOKENS, integer: true }, 'maxTokens');
  checkRange(opts.seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'seed');
  checkSignal(opts.signal);
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

/** Validates `sampleN`'s own options, `n` and `decode`. */
export function checkSampleNOptions(opts: SampleNOptions): void {
  checkOptions(opts, SAMPLE_N_OPTIONS);
  checkRange(opts.n, { min: 1, max: SAMPLE_N_MAX, integer: true }, 'n');
  if (opts.decode !== undefined && typeof opts.decode !== 'function') {
    throw new ValueError(`decode: expected a function (ids) => string, received ${describeValue(opts.decode)}`);
  }
}
