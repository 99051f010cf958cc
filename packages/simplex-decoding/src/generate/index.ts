import { describeValue, ShapeError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { throwIfAborted } from './abort-error.js';
import type { StepModel } from './model.js';
import { checkGenerateArgs, type GenerateOptions } from './options.js';

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
