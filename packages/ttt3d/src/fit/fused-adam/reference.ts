import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { AdamAttrs, AdamInput } from './attrs.js';

/**
 * One Adam step of one variable in tfjs ops, in the order and with the operands of tfjs' `AdamOptimizer`
 * (tfjs-core/src/optimizers/adam_optimizer.ts): m' = β₁m + (1 − β₁)g, v' = β₂v + (1 − β₂)g²,
 * θ' = −lr · (m'/c₁) / (√(v'/c₂) + ε) + θ with cᵢ = 1 − βᵢᵗ. `moments` `[...shape, 2]` holds m and v
 * interleaved (one tensor, so a fused kernel writes both with one program). Returns `[θ', moments']`.
 */
export function adamUpdateReference({ param, grad, moments }: Record<AdamInput, Tensor>, a: AdamAttrs): [Tensor, Tensor] {
  return tf.tidy(() => {
    const [m, v] = tf.unstack(moments, moments.rank - 1) as [Tensor, Tensor];
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(grad, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(grad), 1 - a.beta2));
    const mHat = tf.div(m1, a.correction1);
    const vHat = tf.div(v1, a.correction2);
    const next = tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), a.epsilon)), -a.lr), param);
    return [next, tf.stack([m1, v1], moments.rank - 1)];
  });
}
