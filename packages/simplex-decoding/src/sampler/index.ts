import { checkOptions, tf, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { sampleFromLogits } from '../fused/index.js';
import { asRows, restoreShape } from '../rows.js';
import { sample } from '../sample/index.js';
import { checkSeedAndOffset } from '../sample/validate.js';
import { checkLogitValues, checkTopK, validateLogits } from '../validate.js';
import { composeDistribution } from './compose.js';
import { checkTokenIds, type TokenHistory } from './penalties.js';
import { checkSamplerSpec, type SamplerSpec } from './validate.js';

export type { TokenHistory } from './penalties.js';
export type { RegularizerSpec, SamplerSpec } from './validate.js';

/** Where a draw comes from: the Philox stream `seed`, starting at `offset` (one uniform per row). */
export interface SampleContext extends TokenHistory {
  seed: number;
  /** Default 0; advance it by B per step to continue one stream. */
  offset?: number;
}

/** Drawn token ids and their log-probabilities under the sampler's distribution q, one per row. */
export interface SampledTokens {
  ids: number[];
  logprobs: number[];
}

export interface Sampler {
  /** The spec the sampler was created from. */
  readonly spec: Readonly<SamplerSpec>;
  /** Whether `sample` runs the fused sorting-free kernel (the common path) rather than composing stages. */
  readonly fused: boolean;
  /** The distribution q `[B, V]` (or `[V]`) the sampler draws from, composed stage by stage. */
  distribution(logits: Tensor, history?: TokenHistory): Tensor;
  /** Draws one token per row; rejects NaN and +∞ logits, naming the row and token. */
  sample(logits: Tensor, ctx: SampleContext): Promise<SampledTokens>;
}

const HISTORY_KEYS = ['promptIds', 'generatedIds'] as const;
const CONTEXT_KEYS = ['seed', 'offset', ...HISTORY_KEYS] as const;

function checkHistory(history: TokenHistory, rows: number, vocab: number): TokenHistory {
  checkTokenIds(history.promptIds, rows, vocab, 'promptIds');
  checkTokenIds(history.generatedIds, rows, vocab, 'generatedIds');
  return history;
}

/** Reads the drawn ids and logprobs (and frees them); id −1 marks a row with no token to draw. */
async function readTokens(ids: Tensor, logprobs: Tensor): Promise<SampledTokens> {
  let out: SampledTokens;
  try {
    const [i, l] = await Promise.all([ids.data(), logprobs.data()]);
    out = { ids: Array.from(i), logprobs: Array.from(l) };
  } finally {
    tf.dispose([ids, logprobs]);
  }
  const empty = out.ids.findIndex((id) => id < 0);
  if (empty >= 0) {
    throw new ValueError(
      `logits: expected at least one token with finite logit per row, received row ${empty} with every token masked (−∞)`,
    );
  }
  return out;
}

/**
 * Builds a sampler from `spec`, validated once here (every field, with its name in the message). Stages,
 * in this fixed order: penalties (repetition over prompt + generated ids, then presence and frequency over
 * generated ids) → temperature → support constraints (topK → topP → minP → typical → epsilon) → regulariser
 * (softmax, sparsemax, entmax or Best-of-K) → sample (inverse CDF over a Philox uniform). The common path
 * — softmax with only temperature, topK, topP and minP and no penalties — runs the fused sorting-free
 * `sampleFromLogits` kernel, which draws the same ids as the composed stages for the same seed; every other
 * spec composes the closed forms and `sample`. `{ greedy: true }` takes the argmax of the penalised logits
 * (logprob 0: q is one-hot). `sample` reads the logits before drawing: a NaN or a +∞ is a `ValueError`
 * naming its row and token, and so is a row whose logits are all −∞ (no token to draw).
 */
export function createSampler(spec?: SamplerSpec): Sampler {
  const plan = checkSamplerSpec(spec);
  const frozen = Object.freeze({ ...spec });

  const distribution = (logits: Tensor, history?: TokenHistory): Tensor => {
    const { rows, vocab, batched } = validateLogits(logits);
    const checked = checkHistory(checkOptions(history, HISTORY_KEYS, 'history'), rows, vocab);
    return tf.tidy(() => restoreShape(composeDistribution(asRows(logits), plan, checked), batched));
  };

  const draw = async (logits: Tensor, ctx: SampleContext): Promise<SampledTokens> => {
    const { rows, vocab } = validateLogits(logits);
    const context = checkOptions(ctx, CONTEXT_KEYS, 'ctx');
    const { seed, offset } = checkSeedAndOffset(context.seed, context.offset);
    const history = checkHistory(context, rows, vocab);
    await checkLogitValues(logits);
    if (plan.fused) {
      const { topP, minP, temperature } = plan;
      const topK = plan.topK === undefined ? undefined : checkTopK(plan.topK, vocab, 'spec.topK');
      const out = sampleFromLogits(logits, { temperature, topK, topP, minP, seed, offset });
      return readTokens(out.ids, out.logprobs);
    }
    const q = tf.tidy(() => composeDistribution(asRows(logits), plan, history));
    if (plan.greedy) {
      // greedy's q is NaN on an all −∞ row: mark such rows −1, as sample() does
      const ids = tf.tidy(() => tf.where(tf.isNaN(tf.sum(q, 1)), tf.scalar(-1, 'int32'), tf.argMax(q, 1)));
      q.dispose();
      return readTokens(ids, tf.zeros([rows]));
    }
    try {
      const out = sample(q, { seed, offset });
      return await readTokens(out.ids, out.logprobs);
    } finally {
      q.dispose();
    }
  };

  return { spec: frozen, fused: plan.fused, distribution, sample: draw };
}
