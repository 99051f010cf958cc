import { checkOptions, checkRange, type Tensor } from '@tessera/tensor-core';
import { asRows } from '../rows.js';
import type { SampledIds } from '../sample/draws.js';
import { checkSeedAndOffset, checkStreamEnd, checkVocab } from '../sample/validate.js';
import { checkTemperature, checkTopK, checkTopP, validateLogits } from '../validate.js';
import { fusedSampleIdsOp } from './op.js';

const SAMPLE_FROM_LOGITS_OPTIONS = ['temperature', 'topK', 'topP', 'minP', 'seed', 'offset'] as const;

/** Options of `sampleFromLogits`; each filter is optional. */
export interface SampleFromLogitsOptions {
  /** T > 0 (default 1), applied first: z = s / T. For T → 0 use `greedy()`. */
  temperature?: number;
  /** Keep the k largest z (an integer in [1, V]; ties by lower token id). Omitted or V: off. */
  topK?: number;
  /** Nucleus mass p ∈ (0, 1] over the top-k renormalised distribution; the crossing token is kept. Omitted or 1: off. */
  topP?: number;
  /** Keep tokens with probability ≥ pMin · (top probability), pMin ∈ [0, 1]. Omitted or 0: off. */
  minP?: number;
  /** Philox stream key, a non-negative safe integer; row b draws the uniform at position offset + b. */
  seed: number;
  /** Stream position of row 0 (default 0). */
  offset?: number;
}

/**
 * Fused, sorting-free sampling from logits: temperature → top-k → top-p → min-p (Hugging Face's warper
 * order), then one token per row by inverse CDF in token-id order over q = softmax(s/T) renormalised on
 * the kept set, with the Philox uniform of `sample`. Same seed and offset → the same ids as the unfused
 * path `sample(minP∘topP∘topK∘softmax(s/T), { seed, offset })`, up to float32 round-off on a knife-edge
 * draw (a uniform within ~1e-7 of a CDF step, or a top-p cut within ~1e-7 of p).
 *
 * WebGPU, by shape (`useRadixDraw`): rows of 16384 tokens and more, up to 256 of them, are spread over
 * several workgroups — for top-k ≤ 128 the split candidates: each split of a row finds its exact top-k in
 * registers and one workgroup per row merges those lists and draws (candidates-draw.ts: the logits read once);
 * for a larger top-k ≤ 512 a radix select, 8-bit digits of order-preserving
 * keys until the tokens at or above the bits fixed so far fit a list of 512 (usually 2–3 reads of the row),
 * then one workgroup per row finishes on that list (radix-draw.ts); without top-k or with a larger one,
 * the closed forms' radix cut and a blocked inverse CDF. Other shapes: one workgroup per row finds the
 * top-k and top-p thresholds by pivot search over the values (8 pivots per pass over the row), finishing
 * in workgroup memory once the candidates fit (select.program.ts). `select` forces a path ('row', 'split': the
 * radix passes, 'candidates'). All rank by (value desc, id asc) and draw the same token. The row uniforms are drawn inside the programs that draw, and the ids and the
 * logprobs are written together by the last program: 2 programs a call on the split candidates, 6 on the radix
 * path with a larger top-k, 3 on the one-workgroup path. CPU and WASM: one host kernel that finds the top-k in one read of the row and
 * the nucleus by weighted quickselect. All run `fusedSampleIdsOp`. None sorts the vocabulary.
 *
 * `logits: [B, V] | [V]` float32 → `{ ids: int32 [B], logprobs: float32 [B] }` (B = 1 for `[V]`),
 * logprob = log q(id). Non-finite logits as the closed forms treat them (README, "Non-finite logits"),
 * the same on every backend: the tokens at +∞ (after the temperature) share the mass, then the filters
 * apply; −∞ tokens are never drawn. Synchronous (no value is read back), so a row holding a NaN, or only
 * −∞, cannot be rejected here: it gives id −1 and logprob NaN. `createSampler().sample` reads the logits
 * first and rejects NaN and +∞ with the row and token named.
 */
export function sampleFromLogits(logits: Tensor, opts: SampleFromLogitsOptions): SampledIds {
  const { rows, vocab } = validateLogits(logits);
  checkVocab(vocab, 'logits');
  const o = checkOptions(opts, SAMPLE_FROM_LOGITS_OPTIONS);
  const temperature = checkTemperature(o.temperature ?? 1);
  const k = o.topK === undefined ? vocab : checkTopK(o.topK, vocab, 'topK');
  const p = o.topP === undefined ? 1 : checkTopP(o.topP, 'topP');
  const pMin = o.minP === undefined ? 0 : checkRange(o.minP, { min: 0, max: 1 }, 'minP');
  const { seed, offset } = checkSeedAndOffset(o.seed, o.offset);
  checkStreamEnd(offset, rows);
  const input = asRows(logits);
  const attrs = { temperature, k: k === vocab ? 0 : k, p, pMin, seed, offset };
  // one op on every backend, with a kernel for each output: no Philox program, split or cast around it
  const [ids, logprobs] = fusedSampleIdsOp({ logits: input }, attrs) as [Tensor, Tensor];
  if (input !== logits) input.dispose();
  return { ids, logprobs };
}
