import { type Tensor, tf } from '@tessera/tensor-core';
import { asRows, nanRowsOf, restoreShape, screenRows } from '../rows.js';
import { validateLogits } from '../validate.js';
import { entmaxRows } from './entmax.js';
import { epsilonMask, minPMask, typicalMask } from './masks.js';
import { SPARSEMAX_BISECT_ITERATIONS, sparsemaxBisectOp, sparsemaxSortOp, truncatedSoftmaxOp } from './op.js';
import type { TruncatedAttrs } from './reference.js';
import { shiftedScores, softmaxOver, tempered } from './support.js';
import {
  checkEntmaxOptions,
  checkEpsilonOptions,
  checkGreedyOptions,
  checkMinPOptions,
  checkSparsemaxOptions,
  checkTopKOptions,
  checkTopPOptions,
  checkTypicalOptions,
  type EntmaxOptions,
  type EpsilonOptions,
  type GreedyOptions,
  type MinPOptions,
  type SparsemaxOptions,
  type TopKOptions,
  type TopPOptions,
  type TypicalOptions,
} from './validate.js';

export type {
  EntmaxOptions,
  EpsilonOptions,
  GreedyOptions,
  MinPOptions,
  SparsemaxOptions,
  TopKOptions,
  TopPOptions,
  TypicalOptions,
} from './validate.js';

/*
 * Every decoder here: `logits: [B, V] | [V]` float32 → q of the same shape, rows summing to 1, and the
 * non-finite rules of the README ("Non-finite logits"), the same on every backend: −∞ is a masked token
 * (q = 0); the tokens at +∞ (after the temperature) share the mass as the limit of those logits growing
 * together; a row holding a NaN, or only −∞, is a NaN row. Synchronous: no value is read back.
 */

/** Screens the scores `toScores(rows)` (`screenRows`), decodes them and applies the NaN rows. */
function decodeRows(logits: Tensor, batched: boolean, toScores: (rows: Tensor) => Tensor, decode: (z: Tensor) => Tensor): Tensor {
  return tf.tidy(() => {
    const { z, nanRows } = screenRows(toScores(asRows(logits)));
    return restoreShape(nanRowsOf(decode(z), nanRows), batched);
  });
}

/** `truncatedSoftmaxOp` on the rows of `logits`, the result in the input's rank. */
function truncatedRows(logits: Tensor, batched: boolean, attrs: TruncatedAttrs): Tensor {
  return tf.tidy(() => restoreShape(truncatedSoftmaxOp({ logits: asRows(logits) }, attrs), batched));
}

/**
 * Greedy decoding: the one-hot distribution on the row's argmax. Objective: `max ⟨q, s⟩` over `C = Δ`
 * (λ = 0, no Ω) — a linear programme whose optimum is a vertex (paper §3.1). Ties go to the lowest
 * token id (any distribution over the tied set is optimal; we pick the first vertex), +∞ included.
 * Temperature does not change the argmax, so there is no option.
 */
export function greedy(logits: Tensor, opts?: GreedyOptions): Tensor {
  const { vocab, batched } = validateLogits(logits);
  checkGreedyOptions(opts);
  return decodeRows(
    logits,
    batched,
    (s) => s,
    (s) => {
      const best = tf.max(s, 1, true);
      const ids = tf.range(0, vocab, 1, 'int32');
      // lowest id among the tied maxima, by a min-reduction (tf.argMax's tie order differs across backends)
      const first = tf.min(tf.where(tf.equal(s, best), tf.broadcastTo(ids, s.shape), tf.scalar(vocab, 'int32')), 1);
      // tf.oneHot would reject V = 1
      return tf.cast(tf.equal(ids, tf.reshape(first, [-1, 1])), 'float32');
    },
  );
}

/**
 * Top-k sampling distribution: softmax(s / T) renormalised over the k highest logits. Objective:
 * `max ⟨q, s⟩ − T·Σ q log q` over `C = {q ∈ Δ : q(v) = 0 for v ∉ V_k}` (paper §3.3): the entropic
 * optimum on a face of the simplex.
 *
 * Exactly k tokens in the support (fewer non-zeros if some of them are −∞). Deliberate difference from
 * HF's TopKLogitsWarper: HF keeps every token tied with the k-th largest value (so more than k); we keep
 * exactly k, lower token ids first. With distinct logits the two agree.
 *
 * No sort (`truncatedSoftmaxOp`): on WebGPU a radix select finds the k-th largest (4 passes of 8 bits over
 * order-preserving keys, each row spread over many workgroups; rows under 16384 tokens, and k ≤ 256 over
 * ≥ 256 rows, take the fused sampler's pivot search, one workgroup a row), on CPU and WASM a quickselect;
 * the op's tfjs reference (`tf.topk`) is the specification.
 */
export function topK(logits: Tensor, opts: TopKOptions): Tensor {
  const { vocab, batched } = validateLogits(logits);
  const { k, temperature } = checkTopKOptions(opts, vocab);
  return truncatedRows(logits, batched, { temperature, k, p: 1 });
}

/**
 * Nucleus (top-p) distribution: softmax(s / T) renormalised over the nucleus chosen from the tempered
 * model distribution softmax(s / T) (HF applies TemperatureLogitsWarper before TopPLogitsWarper).
 * Objective: `max ⟨q, s⟩ − T·Σ q log q` over `C = {q ∈ Δ : q(v) = 0 for v ∉ V_p}` (paper §3.4).
 *
 * Always ≥ 1 token. Deliberate difference from HF: tokens with equal logits are ranked by lower token id
 * (HF's unstable `torch.sort` leaves their order unspecified), which changes the result only when such a
 * tie straddles the cut.
 *
 * No sort (`truncatedSoftmaxOp`): on WebGPU a search over the row's values for the threshold where the
 * mass at or above it reaches p·M (M the row's mass) — a radix select with per-bin counts and masses, each
 * row spread over many workgroups (rows under 16384 tokens: a pivot search, one workgroup a row) — then a
 * masked renormalised write; on CPU and WASM a weighted quickselect. Both keep a token iff
 * the mass ranked strictly above it is < p·M — the reference's rule (the mass summed from the smallest
 * up to it > 1 − p) in exact arithmetic; the two can differ only where a cumulative sum lies within
 * float32 round-off of the cut (and p so close to 1 that float32(p) = 1 keeps every token).
 */
export function topP(logits: Tensor, opts: TopPOptions): Tensor {
  const { batched } = validateLogits(logits);
  const { p, temperature } = checkTopPOptions(opts);
  return truncatedRows(logits, batched, { temperature, k: 0, p });
}

/**
 * Min-p distribution: softmax(s / T) renormalised over `{v : p(v) ≥ pMin · max_u p(u)}`, p = softmax(s / T)
 * (HF's MinPLogitsWarper after TemperatureLogitsWarper). Objective: `max ⟨q, s⟩ − T·Σ q log q` over
 * `C = {q ∈ Δ : q(v) = 0 off that set}`. The row's top token always qualifies (pMin ≤ 1); pMin = 0 keeps
 * every token (= softmax).
 */
export function minP(logits: Tensor, opts: MinPOptions): Tensor {
  const { batched } = validateLogits(logits);
  const { pMin, temperature } = checkMinPOptions(opts);
  return decodeRows(
    logits,
    batched,
    (s) => tempered(s, temperature),
    (z) => softmaxOver(z, minPMask(z, pMin)),
  );
}

/**
 * Locally typical sampling (Meister et al. 2023): softmax(s / T) renormalised over the tokens whose
 * information content is closest to the entropy, up to `mass` — HF's TypicalLogitsWarper after
 * TemperatureLogitsWarper. Objective: `max ⟨q, s⟩ − T·Σ q log q` over `C = {q ∈ Δ : q(v) = 0 off that set}`.
 *
 * Differences from HF: mass = 1 is accepted (HF requires mass < 1); HF reads cumulative mass from a second
 * softmax of the re-sorted logits, we gather the first one (equal up to float rounding).
 */
export function typical(logits: Tensor, opts: TypicalOptions): Tensor {
  const { batched } = validateLogits(logits);
  const { mass, temperature } = checkTypicalOptions(opts);
  return decodeRows(
    logits,
    batched,
    (s) => tempered(s, temperature),
    (z) => softmaxOver(z, typicalMask(z, mass)),
  );
}

/**
 * Epsilon sampling (Hewitt et al. 2022, "Truncation Sampling as Language Model Desmoothing"):
 * softmax(s / T) renormalised over `{v : p(v) ≥ eps} ∪ {argmax}`, p = softmax(s / T) — HF's
 * EpsilonLogitsWarper (min_tokens_to_keep = 1: every token tied with the top logit is kept). Objective:
 * `max ⟨q, s⟩ − T·Σ q log q` over `C = {q ∈ Δ : q(v) = 0 off that set}`.
 *
 * Difference from HF: eps = 0 is accepted (keeps every token, = softmax); HF requires eps > 0.
 */
export function epsilon(logits: Tensor, opts: EpsilonOptions): Tensor {
  const { batched } = validateLogits(logits);
  const { eps, temperature } = checkEpsilonOptions(opts);
  return decodeRows(
    logits,
    batched,
    (s) => tempered(s, temperature),
    (z) => softmaxOver(z, epsilonMask(z, eps)),
  );
}

/**
 * Sparsemax: `q = [s/λ − τ]₊` with τ such that rows sum to 1 — the Euclidean projection of s/λ onto the
 * simplex. Objective: `max ⟨q, s⟩ − λ·½‖q‖²` over `C = Δ` (paper §3.5, Eq. 7); exact zeros below the
 * threshold. Computed on (s − max s)/λ (the same q: sparsemax is shift-invariant), which keeps the
 * threshold search exact for any λ, so λ → 0 tends to greedy decoding (ties share the mass).
 */
export function sparsemax(logits: Tensor, opts?: SparsemaxOptions): Tensor {
  const { batched } = validateLogits(logits);
  const { lambda, method } = checkSparsemaxOptions(opts);
  return decodeRows(
    logits,
    batched,
    (s) => s,
    (s) => {
      const z = shiftedScores(s, lambda);
      return method === 'sort' ? sparsemaxSortOp({ z }, {}) : sparsemaxBisectOp({ z }, { iterations: SPARSEMAX_BISECT_ITERATIONS });
    },
  );
}

/**
 * α-entmax by bisection (Peters, Niculae & Martins 2019, Eq. 9; the entmax package's `entmax_bisect`):
 * `q = [(α − 1)·s/λ − τ]₊^{1/(α−1)}` with τ bisected in [max − 1, max − V^{1−α}] (the range where the
 * row sum crosses 1), then the row renormalised. Objective: `max ⟨q, s⟩ − λ·Ω_α(q)`,
 * `Ω_α(q) = (Σ q^α − 1)/(α(α − 1))` (Tsallis), `C = Δ`; α → 1⁺ tends to softmax, α = 2 is sparsemax.
 * Computed on (α − 1)(s − max s)/λ, so λ → 0 tends to greedy decoding. Exact zeros below the threshold.
 * For α close to 1 float32 loses accuracy (q is a power 1/(α−1) of a number near 1): prefer `softmax()`.
 */
export function entmax(logits: Tensor, opts: EntmaxOptions): Tensor {
  const { vocab, batched } = validateLogits(logits);
  const { alpha, lambda, iterations } = checkEntmaxOptions(opts);
  return decodeRows(
    logits,
    batched,
    (s) => s,
    (s) => entmaxRows(tf.mul(shiftedScores(s, lambda), tf.scalar(alpha - 1, 'float32')), alpha, vocab, iterations),
  );
}
