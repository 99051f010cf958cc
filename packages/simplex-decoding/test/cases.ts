import { philoxUniform, philoxUniformArray, type Tensor, tf } from '@tessera/tensor-core';
import type { StepModel } from '../src/index.js';

/*
 * Inputs shared by the test files: seeded, so every backend sees the same numbers.
 */

export const INF = Number.POSITIVE_INFINITY;
export const NEG_INF = Number.NEGATIVE_INFINITY;

/** Seeded logits `[rows, cols]`, uniform in [−bound, bound): distinct values, so tie handling never matters. */
export function randomLogits(rows: number, cols: number, seed: number, bound = 3): Tensor {
  return philoxUniform([rows, cols], { seed, low: -bound, high: bound });
}

/** Logits on a grid of step 1/2 in [−3, 3]: many exact ties, including across the top-k and top-p cuts. */
export function tiedLogits(rows: number, cols: number, seed: number): Tensor {
  return tf.tidy(() => tf.div(tf.round(tf.mul(randomLogits(rows, cols, seed), 2)), 2));
}

/** Seeded nonnegative weights `[rows, cols]`, about a quarter of them exactly zero. */
export function randomWeights(rows: number, cols: number, seed: number): Tensor {
  return tf.tidy(() => {
    const u = philoxUniform([rows, cols], { seed });
    return tf.where(tf.less(u, 0.25), tf.zeros([rows, cols]), tf.exp(tf.mul(u, 6)));
  });
}

/** A `[B, V]` tensor's rows as arrays. */
export async function rowsOf(t: Tensor): Promise<number[][]> {
  return (await t.array()) as number[][];
}

/** The token ids with positive probability in a row. */
export function supportOf(row: readonly number[]): number[] {
  return row.flatMap((v, i) => (v > 0 ? [i] : []));
}

/** Vocabulary of `bigram`. */
export const V = 8;

/** A bigram model: the next-token logits are row `last token` of a fixed table; it logs every call. */
export function bigram(seed = 5): StepModel<{ calls: number }> & { table: number[][]; calls: { ids: number[]; state: unknown }[] } {
  const flat = Array.from(philoxUniformArray(V * V, seed, 0));
  const table = Array.from({ length: V }, (_, i) => flat.slice(i * V, (i + 1) * V).map((x) => (x - 0.5) * 6));
  const calls: { ids: number[]; state: unknown }[] = [];
  return {
    table,
    calls,
    step(ids, state) {
      calls.push({ ids: [...ids], state });
      const last = ids[ids.length - 1] as number;
      return { logits: tf.tensor1d(table[last] as number[]), state: { calls: (state?.calls ?? 0) + 1 } };
    },
  };
}

/**
 * Runs `fn` on the CPU backend with copies of `inputs` and returns its result as plain arrays. The tfjs
 * references run there: on WebGPU, tfjs' cumsum inside the nucleus reference (`nucleusMask`) can pick a
 * different nucleus than on CPU, which is not what the tests compare.
 */
export async function onCpu(inputs: Tensor[], fn: (...xs: Tensor[]) => Tensor[]): Promise<number[][]> {
  const values = await Promise.all(inputs.map((t) => t.data()));
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    const copies = inputs.map((t, i) => tf.tensor(values[i] as Float32Array, t.shape, t.dtype));
    const outs = fn(...copies);
    const arrays = await Promise.all(outs.map(async (t) => Array.from(await t.data())));
    tf.dispose([...copies, ...outs]);
    return arrays;
  } finally {
    await tf.setBackend(previous);
  }
}
