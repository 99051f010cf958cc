import { checkRange, describeValue, philox4x32, ValueError } from '@tessera/tensor-core';
import { generate } from './generate.js';
import type { StepModel } from './model.js';
import { checkGenerateArgs, type GenerateOptions } from './options.js';

export interface SampleNOptions extends GenerateOptions {
  /** Number of continuations (an integer ≥ 1). */
  n: number;
  /** Turns a continuation's ids into text; when given, each result carries `text`. */
  decode?: (ids: number[]) => string;
}

export interface Continuation {
  ids: number[];
  logprobs: number[];
  text?: string;
}

/** Fixed Philox counter word that separates seed derivation from token sampling streams. */
const DERIVE_TAG = 0x5345_4544;

/**
 * The seed of continuation `index` of `sampleN(…, { seed })`: a Philox-4x32 block keyed by `seed` at counter
 * `index`, folded into 53 bits. Distinct indices give unrelated streams; `generate` with this seed
 * reproduces that one continuation.
 */
export function continuationSeed(seed: number, index: number): number {
  checkRange(seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'seed');
  checkRange(index, { min: 0, max: 0xffff_ffff, integer: true }, 'index');
  const words = philox4x32([index, 0, 0, DERIVE_TAG], [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0]);
  return (words[0] as number) + ((words[1] as number) & 0x1f_ffff) * 2 ** 32;
}

/**
 * Draws `n` independent continuations of one prompt, for multi-sample pipelines (self-consistency,
 * reranking, verifier selection), where a Best-of-K sampler with K = n pays off. Continuation i runs
 * `generate` with `continuationSeed(seed, i)`, one after another. `signal` aborts the whole call.
 */
export async function sampleN<S>(model: StepModel<S>, promptIds: readonly number[], opts: SampleNOptions): Promise<Continuation[]> {
  if (opts === null || typeof opts !== 'object') {
    throw new ValueError(`options: expected { n, sampler, maxTokens, seed, ... }, received ${describeValue(opts)}`);
  }
  const { n, decode, ...rest } = opts;
  checkRange(n, { min: 1, integer: true }, 'n');
  if (decode !== undefined && typeof decode !== 'function') {
    throw new ValueError(`decode: expected a function (ids) => string, received ${describeValue(decode)}`);
  }
  const seeds = Array.from({ length: n }, (_, i) => continuationSeed(opts.seed, i));
  // every continuation shares these arguments: validate them before the first model call
  checkGenerateArgs(model, promptIds, rest);
  const results: Continuation[] = [];
  for (const seed of seeds) {
    const ids: number[] = [];
    const logprobs: number[] = [];
    for await (const token of generate(model, promptIds, { ...rest, seed })) {
      ids.push(token.id);
      logprobs.push(token.logprob);
    }
    results.push(decode ? { ids, logprobs, text: decode(ids) } : { ids, logprobs });
  }
  return results;
}
