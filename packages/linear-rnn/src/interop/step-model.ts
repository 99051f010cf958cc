import { describeValue, type Tensor, type TensorContainer, tf, ValueError } from '@tessera/tensor-core';

/** What a causal LM offers for decoding: `prefill` over a prompt `[B, L]` and `step` over one token per sequence. */
export interface Decodable<S> {
  prefill(ids: Tensor, state?: S): { logits: Tensor; state: S };
  step(ids: Tensor | number, state?: S): { logits: Tensor; state: S };
}

/**
 * A model as a decoding loop drives it (simplex-decoding's `StepModel`, by shape: this package imports no
 * other domain package): the first call gets the whole prompt and `state` undefined and returns the logits
 * `[1, V]` of the prompt's last position; every later call gets the sequence so far and the state it last
 * returned, and steps the last token. The caller owns each `logits`; the adapter owns the states.
 */
export interface StepAdapter<S> {
  step(ids: number[], state: S | undefined): { logits: Tensor; state: S };
  /** Frees the last state `step` returned (call once decoding is over). */
  release(): void;
}

/**
 * `FlaCausalLM` / `MambaLM` → a `StepAdapter`, so that loading a PyTorch checkpoint and generating from it are
 * two lines: `const lm = await loadCausalLM(dir); for await (const t of generate(toStepModel(lm), ids, opts))`.
 * The state a step replaces is disposed as soon as the next one exists, so decoding holds one state at a time.
 */
export function toStepModel<S>(model: Decodable<S>): StepAdapter<S> {
  if (model === null || typeof model !== 'object' || typeof model.prefill !== 'function' || typeof model.step !== 'function') {
    throw new ValueError(`model: expected a causal LM with prefill() and step() (FlaCausalLM, MambaLM), received ${describeValue(model)}`);
  }
  let last: S | undefined;
  return {
    step(ids, state) {
      if (!Array.isArray(ids) || ids.length === 0) {
        throw new ValueError(`ids: expected a non-empty array of token ids, received ${describeValue(ids)}`);
      }
      let r: { logits: Tensor; state: S };
      if (state === undefined) {
        // a new sequence: the previous one's final state is no longer needed
        if (last !== undefined) tf.dispose(last as TensorContainer);
        r = tf.tidy(() => {
          const out = model.prefill(tf.tensor2d([ids], [1, ids.length], 'int32'));
          const logits = tf.reshape(tf.slice(out.logits, [0, ids.length - 1, 0], [1, 1, -1]), [1, -1]);
          return { logits, state: out.state } as unknown as TensorContainer;
        }) as unknown as { logits: Tensor; state: S };
      } else {
        r = model.step(ids[ids.length - 1] as number, state);
        tf.dispose(state as TensorContainer);
      }
      last = r.state;
      return r;
    },
    release() {
      if (last !== undefined) tf.dispose(last as TensorContainer);
      last = undefined;
    },
  };
}
