import { checkDtype, type Tensor, tf } from '@tessera/tensor-core';
import { checkTensor } from '../checks.js';

/**
 * Below this |β‖k‖²|, (1 − e^{−x})/x comes from its Taylor series: the direct form loses
 * ulp(1)/(1 − e^{−x}) ≈ 6·10⁻⁸/x relative accuracy to cancellation in float32.
 */
const SERIES_BELOW = 0.1;

/** φ(x) = Σₙ (−x)ⁿ/(n+1)! to x⁶ (Horner); the truncation error at |x| = 0.1 is x⁷/8! ≈ 2.5·10⁻¹². */
function phiSeries(x: Tensor): Tensor {
  let acc: Tensor = tf.scalar(1 / 5040);
  for (const c of [-1 / 720, 1 / 120, -1 / 24, 1 / 6, -1 / 2, 1]) acc = tf.add(tf.mul(acc, x), c);
  return acc;
}

/**
 * EFLA's exact step α = (1 − e^{−β‖k‖²}) / ‖k‖² (Lei et al. 2025, eq. 9 — papers/linear_rnn.md §2.2),
 * written α = β · φ(β‖k‖²) with φ(x) = −expm1(−x)/x, so that ‖k‖² → 0 gives the limit α = β exactly
 * and the gradient stays finite there. tfjs has no expm1, so φ switches to its series for small |x|.
 * `beta: [B, H, (L)]`, `k: [B, H, (L), Dk]` (any leading shape: k's is beta's) → α, shaped like `beta`.
 */
export function eflaStepSize(beta: Tensor, k: Tensor): Tensor {
  const leading = checkTensor(beta, 'beta');
  checkTensor(k, 'k', { leading });
  checkDtype(beta, 'float32', 'beta');
  checkDtype(k, 'float32', 'k');
  return tf.tidy(() => {
    const x = tf.mul(beta, tf.sum(tf.square(k), -1));
    // a float mask from tf.step (its gradient is zero), as tf.less has no gradient for autodiff to pass
    const small = tf.step(tf.sub(SERIES_BELOW, tf.abs(x)));
    const large = tf.sub(1, small);
    // where the series is used, the direct branch divides 1 − e^{−1} by 1 instead of 0 by 0
    const safe = tf.add(tf.mul(x, large), small);
    const direct = tf.div(tf.sub(1, tf.exp(tf.neg(safe))), safe);
    return tf.mul(beta, tf.add(tf.mul(small, phiSeries(x)), tf.mul(large, direct)));
  });
}
