import { type Tensor, tf } from '@tessera/tensor-core';
import { frobeniusNorm } from './norms.js';

/** The quintic's coefficients (a, b, c) (Keller Jordan's Muon; the LaCT NVS and tttLRM code). */
export const NEWTON_SCHULZ_COEFFICIENTS = [3.4445, -4.775, 2.0315] as const;

/** Added to the Frobenius norm before dividing (the authors' 1e-7). */
const NORM_EPS = 1e-7;

/** Swaps the last two axes of a rank-4 tensor. */
function transposeLast(x: Tensor): Tensor {
  return tf.transpose(x, [0, 1, 3, 2]);
}

/**
 * `zeropower_via_newtonschulz5(G, steps)` of lact_nvs/lact_ttt.py (from Moonlight / modded-nanogpt), batched over the
 * leading `[B, H]` of `g: [B, H, R, C]`: a tall matrix (R > C) is transposed first so the Gram matrix X·Xᵀ is the
 * smaller one, X = G / (‖G‖_F + 1e-7) (spectral norm ≤ 1), then `steps` times A = X·Xᵀ, X ← a·X + (b·A + c·A·A)·X,
 * transposed back. Each singular value s of X goes through p(s) = a·s + b·s³ + c·s⁵, which pushes it into ~[0.7, 1.2]
 * rather than to 1 (the coefficients maximise the slope at 0; U·S'·Vᵀ, not U·Vᵀ). The authors cast G to bfloat16 for
 * the whole iteration; tfjs has no bfloat16, so this runs in float32 (closer to the exact polynomial). `steps` = 0
 * is not handled here: the caller skips the call (the authors' NVS function would still return G / ‖G‖_F).
 */
export function newtonSchulz5(g: Tensor, steps: number): Tensor {
  return tf.tidy(() => {
    const [a, b, c] = NEWTON_SCHULZ_COEFFICIENTS;
    const tall = (g.shape[2] as number) > (g.shape[3] as number);
    let x = tall ? transposeLast(g) : g;
    x = tf.div(x, tf.add(frobeniusNorm(x), NORM_EPS));
    for (let i = 0; i < steps; i++) {
      const gram = tf.matMul(x, x, false, true);
      const poly = tf.add(tf.mul(gram, b), tf.mul(tf.matMul(gram, gram), c));
      x = tf.add(tf.mul(x, a), tf.matMul(poly, x));
    }
    return tall ? transposeLast(x) : x;
  });
}
