import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * α-entmax of `x = (α − 1)·z: [B, V]` by bisection (the entmax package's `entmax_bisect`): τ in
 * [max − 1, max − V^{1−α}], where the row sum of `[x − τ]₊^{1/(α−1)}` crosses 1, halved `iterations`
 * times; the last midpoint's q, renormalised. Each step's `[B, V]` temporaries are freed at once.
 */
export function entmaxRows(x: Tensor, alpha: number, vocab: number, iterations: number): Tensor {
  return tf.tidy(() => {
    const power = 1 / (alpha - 1);
    const top = tf.max(x, 1, true);
    const mass = (tau: Tensor) => tf.pow(tf.relu(tf.sub(x, tau)), tf.scalar(power, 'float32'));
    let lo = tf.sub(top, 1);
    let mid = lo;
    let width = 1 - (1 / vocab) ** (alpha - 1);
    for (let i = 0; i < iterations; i++) {
      width /= 2;
      const [nextLo, nextMid] = tf.tidy(() => {
        const m = tf.add(lo, width);
        const enough = tf.greaterEqual(tf.sum(mass(m), 1, true), 1);
        return [tf.where(enough, m, lo), m];
      });
      if (mid !== lo) mid.dispose();
      lo.dispose();
      lo = nextLo as Tensor;
      mid = nextMid as Tensor;
    }
    const q = mass(mid);
    return tf.div(q, tf.sum(q, 1, true));
  });
}
