import { type Tensor, tf } from '@tessera/tensor-core';
import type { DeltaInputs, DeltaRuleResult, DeltaStepResult } from './types.js';

/**
 * One token of the (gated) delta rule, fla's naive recurrence (papers/linear_rnn.md §3.1):
 * S̄ = e^{g} S;  u = β (v − S̄ᵀ k);  S' = S̄ + k uᵀ;  o = S'ᵀ (scale · q).
 * `q, k: [B, H, Dk]`, `v: [B, H, Dv]`, `beta, g: [B, H]`, `state: [B, H, Dk, Dv]`.
 */
export function deltaStepReference(t: DeltaInputs, scale: number): DeltaStepResult {
  return tf.tidy(() => {
    const decayed = t.g === undefined ? t.state : tf.mul(t.state, tf.reshape(tf.exp(t.g), [...t.g.shape, 1, 1]));
    // S̄ᵀ k: contract Dk
    const predicted = tf.squeeze(tf.matMul(tf.expandDims(t.k, 2), decayed), [2]);
    const u = tf.mul(tf.sub(t.v, predicted), tf.expandDims(t.beta, 2));
    const state = tf.add(decayed, tf.mul(tf.expandDims(t.k, 3), tf.expandDims(u, 2)));
    const output = tf.squeeze(tf.matMul(tf.expandDims(tf.mul(t.q, scale), 2), state), [2]);
    return { output, finalState: state };
  });
}

/**
 * The per-token recurrence over a sequence, the oracle of every faster form.
 * `q, k: [B, H, L, Dk]`, `v: [B, H, L, Dv]`, `beta, g: [B, H, L]`, `state: [B, H, Dk, Dv]`.
 */
export function deltaRuleReference(t: DeltaInputs, scale: number): DeltaRuleResult {
  return tf.tidy(() => {
    const length = t.q.shape[2] as number;
    const token = (x: Tensor, i: number): Tensor => tf.squeeze(tf.slice(x, [0, 0, i], [-1, -1, 1]), [2]);
    let state = t.state;
    const outputs: Tensor[] = [];
    for (let i = 0; i < length; i++) {
      const step = deltaStepReference(
        {
          q: token(t.q, i),
          k: token(t.k, i),
          v: token(t.v, i),
          beta: token(t.beta, i),
          g: t.g === undefined ? undefined : token(t.g, i),
          state,
        },
        scale,
      );
      outputs.push(step.output);
      state = step.finalState;
    }
    return { output: tf.stack(outputs, 2), finalState: state };
  });
}
