import { type Tensor, tf } from '@tessera/tensor-core';
import { asRows, restoreShape, validateLogits } from '../logits.js';

/**
 * Greedy decoding: the one-hot distribution on the row's argmax. Objective: `max ⟨q, s⟩` over `C = Δ`
 * (λ = 0, no Ω) — a linear programme whose optimum is a vertex (paper §3.1). Ties go to the lowest
 * token id (any distribution over the tied set is optimal; we pick the first vertex).
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape. Temperature does not change the argmax, so
 * there is none. A row whose entries are all −∞ gives a NaN row; NaN logits give unspecified rows
 * (this function is synchronous and cannot read the data: validate with `assertNoNaN`).
 */
export function greedy(logits: Tensor): Tensor {
  const { vocab, batched } = validateLogits(logits);
  return tf.tidy(() => {
    const s = asRows(logits);
    const best = tf.max(s, 1, true);
    const ids = tf.range(0, vocab, 1, 'int32');
    // lowest id among the tied maxima, by a min-reduction (tf.argMax's tie order differs across backends)
    const first = tf.min(tf.where(tf.equal(s, best), tf.broadcastTo(ids, s.shape), tf.scalar(vocab, 'int32')), 1);
    // tf.oneHot would reject V = 1
    const oneHot = tf.cast(tf.equal(ids, tf.reshape(first, [-1, 1])), 'float32');
    // best − best is 0 for finite maxima and NaN for an all −∞ row, which marks that row as undefined
    return restoreShape(tf.add(oneHot, tf.sub(best, best)), batched);
  });
}
