import type { Tensor } from '@tessera/tensor-core';
import { asRows } from '../rows.js';
import { validateLogits } from '../validate.js';
import type { SampledIds } from './draws.js';
import { sampleOp } from './op.js';
import { checkSampleOptions, checkStreamEnd, checkVocab, type SampleOptions } from './validate.js';

export type { SampledIds } from './draws.js';
export type { SampleOptions } from './validate.js';

/**
 * Draws one token per row of a distribution by inverse CDF in token-id order: with
 * u_b = philoxUniform([B], { seed, offset })[b], the smallest id i with Σ_{j≤i} q_j > u_b · Σ_j q_j.
 * Rows need not be normalised (the row total is used). Partial sums follow one fixed blocked order
 * (16-token segments, 256-segment groups summed by a pairwise tree, groups left to right; layout.ts) on
 * every backend, so the same seed draws the same ids on CPU, WASM and WebGPU. A zero-probability token
 * is never drawn: if round-off leaves no prefix above the target, the last positive token is taken.
 *
 * `q: [B, V] | [V]` float32, nonnegative finite weights → `{ ids: int32 [B], logprobs: float32 [B] }`
 * (B = 1 for a `[V]` input), logprob = log(q_id / Σq). Synchronous (no value is read back), so a row that
 * is not a distribution — no positive entry, or a negative, NaN or +∞ entry — cannot be rejected here:
 * it gives id −1 and logprob NaN, on every backend (README, "Non-finite logits"); `createSampler().sample`
 * rejects such input with the row and token named.
 */
export function sample(q: Tensor, opts: SampleOptions): SampledIds {
  const { vocab } = validateLogits(q, 'q');
  checkVocab(vocab, 'q');
  const { seed, offset } = checkSampleOptions(opts);
  const rows = asRows(q);
  checkStreamEnd(offset, rows.shape[0] as number);
  const [ids, logprobs] = sampleOp({ q: rows }, { seed, offset }) as [Tensor, Tensor];
  if (rows !== q) rows.dispose();
  return { ids, logprobs };
}
