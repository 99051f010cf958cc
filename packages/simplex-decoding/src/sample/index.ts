import { philoxUniform, ShapeError, type Tensor, tf } from '@tessera/tensor-core';
import { asRows, validateLogits } from '../logits.js';
import { type SampledIds, splitDraws } from './draws.js';
import { MAX_VOCAB } from './layout.js';
import { checkSeed, type SampleOptions } from './options.js';
import { sampleOp } from './sample-op.js';

/** Rejects vocabularies whose ids a float32 cannot hold exactly (the kernels' output format). */
export function checkVocab(vocab: number, name: string): void {
  if (vocab > MAX_VOCAB) {
    throw new ShapeError(`${name}: expected V ≤ ${MAX_VOCAB} (2^24), received V = ${vocab}`);
  }
}

/**
 * Draws one token per row of a distribution by inverse CDF in token-id order: with
 * u_b = philoxUniform([B], { seed, offset })[b], the smallest id i with Σ_{j≤i} q_j > u_b · Σ_j q_j.
 * Rows need not be normalised (the row total is used). Partial sums follow one fixed blocked order
 * (16-token segments, 256-segment groups summed by a pairwise tree, groups left to right; layout.ts) on
 * every backend, so the same seed draws the same ids on CPU, WASM and WebGPU. A zero-probability token
 * is never drawn: if round-off leaves no prefix above the target, the last positive token is taken.
 *
 * `q: [B, V] | [V]` float32, nonnegative → `{ ids: int32 [B], logprobs: float32 [B] }` (B = 1 for a `[V]`
 * input), logprob = log(q_id / Σq). A row with no positive entry (all zeros, or NaN) gives id −1 and
 * logprob NaN; values are not read back, so negative or NaN entries are not rejected here.
 */
export function sample(q: Tensor, opts: SampleOptions): SampledIds {
  const { vocab } = validateLogits(q, 'q');
  checkVocab(vocab, 'q');
  const { seed, offset } = checkSeed(opts, '{ seed, offset? }');
  const rows = asRows(q);
  const u = philoxUniform([rows.shape[0] as number], { seed, offset });
  const draws = sampleOp({ q: rows, u }, {});
  const out = splitDraws(draws);
  tf.dispose([u, draws]);
  if (rows !== q) rows.dispose();
  return out;
}
