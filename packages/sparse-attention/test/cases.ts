import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';

/** Uniform in [low, high) from the seeded RNG, so every backend sees the same numbers. */
export function uniform(shape: number[], seed: number, low = -1, high = 1): Tensor {
  return philoxUniform(shape, { seed, low, high });
}

/** q, k, v `[B, H, L, D]` with spread-out scores (× `spread`), from one seed. */
export function qkv(
  b: number,
  h: number,
  lq: number,
  lk: number,
  d: number,
  seed: number,
  spread = 1,
): { q: Tensor; k: Tensor; v: Tensor } {
  return tf.tidy(() => ({
    q: tf.mul(uniform([b, h, lq, d], seed), spread),
    k: uniform([b, h, lk, d], seed + 1),
    v: uniform([b, h, lk, d], seed + 2),
  }));
}

/**
 * Brute-force attention in float64 from host arrays: for every (b, h, i) the softmax over the keys j
 * with `visible(b, h, i, j)`; a row with none gives output 0 and log-sum-exp −∞.
 */
export async function bruteAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scale: number,
  visible: (b: number, h: number, i: number, j: number) => boolean = () => true,
): Promise<{ output: number[]; lse: number[] }> {
  const [B, H, Lq, D] = q.shape as [number, number, number, number];
  const Lk = k.shape[2] as number;
  const [qa, ka, va] = await Promise.all([q.data(), k.data(), v.data()]);
  const output = new Array<number>(B * H * Lq * D).fill(0);
  const lse = new Array<number>(B * H * Lq).fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < Lq; i++) {
        const s: number[] = [];
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < Lk; j++) {
          if (!visible(b, h, i, j)) {
            s.push(Number.NEGATIVE_INFINITY);
            continue;
          }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += (qa[(bh * Lq + i) * D + d] as number) * (ka[(bh * Lk + j) * D + d] as number);
          s.push(dot * scale);
          m = Math.max(m, dot * scale);
        }
        if (m === Number.NEGATIVE_INFINITY) {
          lse[bh * Lq + i] = Number.NEGATIVE_INFINITY;
          continue;
        }
        let l = 0;
        const p = s.map((x) => (x === Number.NEGATIVE_INFINITY ? 0 : Math.exp(x - m)));
        for (const x of p) l += x;
        lse[bh * Lq + i] = m + Math.log(l);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Lk; j++) acc += (p[j] as number) * (va[(bh * Lk + j) * D + d] as number);
          output[(bh * Lq + i) * D + d] = acc / l;
        }
      }
    }
  }
  return { output, lse };
}

/** A seeded random dense block mask `[B, H, Nq, Nk]` (int32 0/1) keeping about `density` of the blocks. */
export function randomBlockMask(shape: [number, number, number, number], seed: number, density: number): Tensor {
  return tf.tidy(() => tf.cast(tf.floor(tf.add(uniform(shape, seed, 0, 1), density)), 'int32'));
}
