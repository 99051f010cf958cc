import { type Tensor, tf } from '@tessera/tensor-core';
import type { KernelTensors } from './kernel-inputs.js';
import type { Unpacked } from './packing.js';
import { angleIncrement, rotatePairs, wrapAngle } from './rotary.js';

/** Σ_r v_r k_rᵀ for rank-major `v: [B, H, R·P]`, `k: [B, H, R·N]` → `[B, H, P, N]`. */
function rankOuter(v: Tensor, k: Tensor, rank: number): Tensor {
  const [b, h] = v.shape as [number, number];
  return tf.matMul(tf.reshape(v, [b, h, rank, -1]), tf.reshape(k, [b, h, rank, -1]), true, false);
}

/**
 * One token of the Mamba-3 recurrence, mamba_ssm's `mamba3_siso_step_ref` / `mamba3_MIMO_step_ref`
 * (papers/linear_rnn.md 1.2, 1.4):
 *   θ_t = (θ_{t−1} + π·tanh(theta_t)·Δ_t) mod 2π,  q̃ = R(θ_t) C_t,  k̃ = R(θ_t) B_t
 *   S_t = α S_{t−1} + β Σ_r v_{t−1,r} k̃_{t−1,r}ᵀ + γ Σ_r v_{t,r} k̃_{t,r}ᵀ,   α = e^{AΔ}, β = (1−λ)Δα, γ = λΔ
 *   y_{t,r} = S_t q̃_{t,r} + D v_{t,r}
 * Inputs have no L axis: `x: [B, H, R·P]`, `dt, A, lambda: [B, H]`, `B, C: [B, H, R·N]`, `theta: [B, H, Nr]`.
 */
export function stepReference(t: KernelTensors, rank: number): Unpacked {
  return tf.tidy(() => {
    const [b, h] = t.x.shape as [number, number];
    const angle = wrapAngle(tf.add(t.angle, angleIncrement(t.theta, t.dt)));
    const q = rotatePairs(t.C, angle, rank);
    const k = rotatePairs(t.B, angle, rank);
    const alpha = tf.exp(tf.mul(t.A, t.dt));
    const beta = tf.mul(tf.mul(tf.sub(1, t.lambda), t.dt), alpha);
    const gamma = tf.mul(t.lambda, t.dt);
    const col = (s: Tensor) => tf.reshape(s, [b, h, 1, 1]);
    const ssm = tf.addN([
      tf.mul(col(alpha), t.ssm),
      tf.mul(col(beta), rankOuter(t.v, t.k, rank)),
      tf.mul(col(gamma), rankOuter(t.x, k, rank)),
    ]);
    const read = tf.reshape(tf.matMul(tf.reshape(q, [b, h, rank, -1]), ssm, false, true), [b, h, -1]);
    const y = tf.add(read, tf.mul(tf.reshape(t.D, [1, h, 1]), t.x));
    return { y, ssm, k, angle };
  });
}

/**
 * The per-token recurrent reference over a sequence: `stepReference` for t = 0 … L−1 (the oracle of
 * every faster form). Per-token inputs carry the L axis (`x: [B, H, L, R·P]`, …); returns
 * `y: [B, H, L, R·P]` and the state after the last token.
 */
export function recurrentReference(t: KernelTensors, rank: number): Unpacked {
  return tf.tidy(() => {
    const length = t.x.shape[2] as number;
    const at = (u: Tensor, i: number): Tensor => tf.squeeze(tf.slice(u, [0, 0, i], [-1, -1, 1]), [2]);
    let state = { ssm: t.ssm, k: t.k, v: t.v, angle: t.angle };
    const ys: Tensor[] = [];
    for (let i = 0; i < length; i++) {
      const x = at(t.x, i);
      const out = stepReference(
        {
          x,
          dt: at(t.dt, i),
          A: at(t.A, i),
          B: at(t.B, i),
          C: at(t.C, i),
          lambda: at(t.lambda, i),
          theta: at(t.theta, i),
          D: t.D,
          ...state,
        },
        rank,
      );
      ys.push(out.y);
      state = { ssm: out.ssm, k: out.k, v: x, angle: out.angle };
    }
    return { y: tf.stack(ys, 2), ssm: state.ssm, k: state.k, angle: state.angle };
  });
}
