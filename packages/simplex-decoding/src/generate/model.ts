import type { Tensor } from '@tessera/tensor-core';

/** What one model step returns: next-token logits `[V]` or `[1, V]` and the state for the next call. */
export interface StepResult<S> {
  logits: Tensor;
  state: S;
}

/**
 * Any autoregressive model: the first call receives the whole prompt and `state` undefined, every later
 * call the one token just generated and the state the previous call returned (a KV cache, a recurrent
 * state, ...). It may be sync or async. `generate` takes ownership of each returned `logits` tensor and
 * disposes it after sampling, so return a fresh tensor each step; the state stays the model's to manage.
 */
export interface StepModel<S = unknown> {
  step(ids: number[], state: S | undefined): StepResult<S> | Promise<StepResult<S>>;
}
