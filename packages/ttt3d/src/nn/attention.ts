import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * Dense non-causal scaled dot-product attention, `softmax(q·kᵀ/√D)·v`, torch's `F.scaled_dot_product_attention` with
 * its default scale: `q, k, v: [B, H, L, D] → [B, H, L, D]`. Differentiable by autodiff; O(L²) memory, which is why
 * LaCT blocks use it only inside one view (a window of h·w/p² tokens). (An attention helper belongs in tensor-core;
 * this plain composite lives here so that ttt3d imports no other domain package.)
 */
export function denseAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(q.shape.at(-1) as number);
    const scores = tf.mul(tf.matMul(q, k, false, true), scale);
    return tf.matMul(tf.softmax(scores, -1), v);
  });
}

/** `x / (‖x‖₂ + 1e-5)` over the last axis: LaCT's normalisation of q and k (`q / (q.norm(dim=2) + 1e-5)`). */
export function unitNormalize(x: Tensor): Tensor {
  return tf.tidy(() => tf.div(x, tf.add(tf.norm(x, 'euclidean', -1, true), 1e-5)));
}
