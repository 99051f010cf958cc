import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * Drawn tokens, one per row: ids int32 `[B]` and their log-probabilities float32 `[B]`. A type alias
 * (not an interface) so that it is a `TensorContainer` and `tf.dispose(result)` accepts it.
 */
export type SampledIds = { ids: Tensor; logprobs: Tensor };

/** Splits the kernels' `[B, 2]` (id, logprob) rows into `{ ids: int32 [B], logprobs: float32 [B] }`. */
export function splitDraws(draws: Tensor): SampledIds {
  return tf.tidy(() => {
    const [id, logprob] = tf.unstack(draws, 1) as [Tensor, Tensor];
    return { ids: tf.cast(id, 'int32'), logprobs: logprob };
  });
}
