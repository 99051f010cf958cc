import { stopGradient, type Tensor, tf } from '@tessera/tensor-core';
import { newtonSchulz5 } from './newton-schulz.js';
import { columnNorm } from './norms.js';
import type { FastWeights } from './types.js';

/** Added to each column norm before the rescale divides by it (the authors' 1e-5). */
const COLUMN_NORM_EPS = 1e-5;

function silu(x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** d silu(x)/dx = σ(x)(1 + x(1 − σ(x))) (the authors' `silu_backprop`). */
function siluDerivative(x: Tensor): Tensor {
  const s = tf.sigmoid(x);
  return tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s))));
}

/** `f_W(x) = (silu(x·w0) ⊙ (x·w2))·w1` on `x: [B, H, L, Dk]` → `[B, H, L, Dv]`. */
export function applyReference(w: FastWeights, x: Tensor): Tensor {
  return tf.tidy(() => tf.matMul(tf.mul(silu(tf.matMul(x, w.w0)), tf.matMul(x, w.w2)), w.w1));
}

/**
 * The closed-form chunk gradient of LaCT's update loss, as the authors write it out by hand (lact_nvs/lact_ttt.py):
 * for L(W) = −Σ_i η_i f_W(k_i)·v_i (LaCT, Zhang et al. 2025, the "negative dot product" loss), returns
 * ΔW = −∂L/∂W for each matrix, with matrix j's own per-token rate η_i = lr[…, i, j]: with g = k·w0, u = k·w2,
 * h = silu(g) ⊙ u and dh = v·w1ᵀ,
 *   Δw1 = (h ⊙ η1)ᵀ·v,  Δw0 = (k ⊙ η0)ᵀ·(dh ⊙ u ⊙ silu′(g)),  Δw2 = (k ⊙ η2)ᵀ·(dh ⊙ silu(g)),
 * summed (not averaged) over the chunk's L tokens. These are descent directions: W + εΔW lowers L.
 */
export function chunkGradients(w: FastWeights, k: Tensor, v: Tensor, lr: Tensor): FastWeights {
  return tf.tidy(() => {
    const [lr0, lr1, lr2] = tf.split(lr, 3, 3) as [Tensor, Tensor, Tensor];
    const gate = tf.matMul(k, w.w0);
    const linear = tf.matMul(k, w.w2);
    const gateAct = silu(gate);
    const hidden = tf.mul(gateAct, linear);
    const dHidden = tf.matMul(v, w.w1, false, true);
    const dLinear = tf.mul(dHidden, gateAct);
    const dGate = tf.mul(tf.mul(dHidden, linear), siluDerivative(gate));
    return {
      w0: tf.matMul(tf.mul(k, lr0), dGate, true, false),
      w1: tf.matMul(tf.mul(hidden, lr1), v, true, false),
      w2: tf.matMul(tf.mul(k, lr2), dLinear, true, false),
    };
  });
}

/** Column norms `[B, H, 1, C]` of each matrix. */
export function columnNormsOf(w: FastWeights): FastWeights {
  return tf.tidy(() => ({ w0: columnNorm(w.w0), w1: columnNorm(w.w1), w2: columnNorm(w.w2) }));
}

/**
 * One LaCT chunk update (lact_nvs/lact_ttt.py, the `update` branch): W ← W + NS(ΔW) per matrix, then each column
 * rescaled to its target norm, W ← W / (‖W‖_col + 1e-5) · n. `norms` default to W's own column norms; they carry no
 * gradient (the authors' `w.detach().norm(...)`).
 */
export function updateReference(w: FastWeights, k: Tensor, v: Tensor, lr: Tensor, steps: number, norms?: FastWeights): FastWeights {
  return tf.tidy(() => {
    const grads = chunkGradients(w, k, v, lr);
    const target = norms ?? columnNormsOf(w);
    const step = (key: keyof FastWeights): Tensor => {
      const delta = steps > 0 ? newtonSchulz5(grads[key], steps) : grads[key];
      const updated = tf.add(w[key], delta);
      return tf.mul(tf.div(updated, tf.add(columnNorm(updated), COLUMN_NORM_EPS)), stopGradient(target[key]));
    };
    return { w0: step('w0'), w1: step('w1'), w2: step('w2') };
  });
}
