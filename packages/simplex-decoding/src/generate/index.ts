import { checkRange, describeValue, philox4x32, ShapeError, type Tensor, throwIfAborted } from '@tessera/tensor-core';
import type { StepModel } from './model.js';
import { checkGenerateArgs, checkSampleNOptions, type GenerateOptions, type SampleNOptions } from './validate.js';

export type { StepModel, StepResult } from './model.js';
export { GENERATE_MAX_TOKENS, type GenerateOptions, SAMPLE_N_MAX, type SampleNOptions } from './validate.js';

/** One generated token and its log-probability under the sampler's distribution q. */
export interface GeneratedToken {
  id: number;
  logprob: number;
}

function checkStepLogits(logits: Tensor, step: number): void {
  const shape = (logits as { shape?: unknown } | null)?.shape;
  const ok = Array.isArray(shape) && (shape.length === 1 || (shape.length === 2 && shape[0] === 1));
  if (!ok) throw new ShapeError(`model.step(): expected logits of shape [V] or [1, V] at step ${step}, received ${describeValue(logits)}`);
}

async function* run<S>(model: StepModel<S>, promptIds: readonly number[], opts: GenerateOptions, isStop: (id: number) => boolean) {
  const { sampler, maxTokens, seed, signal } = opts;
  const prompt = [...promptIds];
  const generated: number[] = [];
  let state: S | undefined;
  let input = prompt;
  for (let step = 0; step < maxTokens; step++) {
    throwIfAborted(signal, `before step ${step}`);
    const out = await model.step(input, state);
    const logits = out?.logits;
    let token: { ids: number[]; logprobs: number[] };
    try {
      checkStepLogits(logits, step);
      throwIfAborted(signal, `during step ${step}`);
      // one uniform per row and step: offset = step · batch, with a batch of 1
      token = await sampler.sample(logits, { seed, offset: step, promptIds: [prompt], generatedIds: [generated] });
    } finally {
      (logits as Tensor | undefined)?.dispose?.();
    }
    state = out.state;
    const id = token.ids[0] as number;
    yield { id, logprob: token.logprobs[0] as number };
    generated.push(id);
    if (isStop(id)) return;
    input = [id];
  }
}

/**
 * Autoregressive generation: `model.step(ids, state)` → next-token logits, `opts.sampler` → a token, until
 * `maxTokens` tokens or a stop token. The first step sees the whole prompt, later ones the last token
 * (see `StepModel`). Step t samples at Philox offset t under `seed`, so a seed reproduces a sequence; the
 * sampler's penalties see the prompt and the tokens generated so far. Each step's logits are disposed after
 * sampling. Arguments are validated when `generate` is called; `AbortError` ends the iterator when `signal`
 * fires (checked before each step and again once the step's logits arrive).
 */
export function generate<S>(
  model: StepModel<S>,
  promptIds: readonly number[],
  opts: GenerateOptions,
): AsyncGenerator<GeneratedToken, void, undefined> {
  const isStop = checkGenerateArgs(model, promptIds, opts);
  return run(model, promptIds, opts, isStop);
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
  // every continuation shares these arguments: validate them before the first model call
  checkGenerateArgs(model, promptIds, opts, true);
  checkSampleNOptions(opts);
  const { n, decode, ...rest } = opts;
  const seeds = Array.from({ length: n }, (_, i) => continuationSeed(opts.seed, i));
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
