import { type Tensor, tf } from '@tessera/tensor-core';
import { cumsumLast } from './cumsum.js';

const TWO_PI = 2 * Math.PI;

/** a mod 2π in [0, 2π), as mamba_ssm keeps its angle state (`Angle_State − 2π·floor(Angle_State / 2π)`). */
export function wrapAngle(a: Tensor): Tensor {
  return tf.tidy(() => tf.sub(a, tf.mul(tf.floor(tf.div(a, TWO_PI)), TWO_PI)));
}

/**
 * The angle increment of one token, π·tanh(theta)·Δ (mamba_ssm: `Angles = tanh(Angles)·π`, then `·DT`).
 * `theta: [..., Nr]`, `dt: [...]` → `[..., Nr]`.
 */
export function angleIncrement(theta: Tensor, dt: Tensor): Tensor {
  return tf.tidy(() => tf.mul(tf.mul(tf.tanh(theta), Math.PI), tf.expandDims(dt, -1)));
}

/**
 * Cumulative angles θ_t = (θ_{−1} + Σ_{s≤t} π·tanh(theta_s)·Δ_s) mod 2π (papers/linear_rnn.md 1.3).
 * `theta: [B, H, L, Nr]`, `dt: [B, H, L]`, `angle0: [B, H, Nr]` → `[B, H, L, Nr]`.
 */
export function cumulativeAngles(theta: Tensor, dt: Tensor, angle0: Tensor): Tensor {
  return tf.tidy(() => {
    const running = tf.transpose(cumsumLast(tf.transpose(angleIncrement(theta, dt), [0, 1, 3, 2])), [0, 1, 3, 2]);
    return wrapAngle(tf.add(running, tf.expandDims(angle0, 2)));
  });
}

/**
 * Rotates the adjacent pairs (2j, 2j+1) of every rank block of `u: [..., R·N]` by `angle[..., j]`
 * (`[..., Nr]`); pairs j ≥ Nr stay as they are. This is the pairing of mamba_ssm's SISO kernels and of
 * both step references (`view(..., -1, 2)`); its MIMO TileLang kernel pairs j with j + N/2 instead.
 */
export function rotatePairs(u: Tensor, angle: Tensor, rank: number): Tensor {
  return tf.tidy(() => {
    const n = (u.shape[u.rank - 1] as number) / rank;
    const half = n / 2;
    const nr = angle.shape[angle.rank - 1] as number;
    let cos = tf.reshape(tf.cos(angle), [-1, nr]);
    let sin = tf.reshape(tf.sin(angle), [-1, nr]);
    if (nr < half) {
      cos = tf.pad(
        cos,
        [
          [0, 0],
          [0, half - nr],
        ],
        1,
      );
      sin = tf.pad(sin, [
        [0, 0],
        [0, half - nr],
      ]);
    }
    const c = tf.reshape(cos, [-1, 1, half, 1]);
    const s = tf.reshape(sin, [-1, 1, half, 1]);
    const [u0, u1] = tf.split(tf.reshape(u, [-1, rank, half, 2]), 2, 3) as [Tensor, Tensor];
    const r0 = tf.sub(tf.mul(u0, c), tf.mul(u1, s));
    const r1 = tf.add(tf.mul(u0, s), tf.mul(u1, c));
    return tf.reshape(tf.concat([r0, r1], 3), u.shape);
  });
}
