import { checkOptions, checkRange, describeValue, ValueError } from '@tessera/tensor-core';
import { type BestOfKOptions, type BokSettings, resolveBestOfK } from '../best-of-k/validate.js';
import { checkTemperature, checkTopP } from '../validate.js';

/** The regulariser Ω that turns the constrained scores into q (the last stage before sampling). */
export type RegularizerSpec =
  | 'softmax'
  | 'sparsemax'
  | { kind: 'softmax' }
  | { kind: 'sparsemax'; lambda?: number }
  | { kind: 'entmax'; alpha: number; lambda?: number }
  | ({ kind: 'bestOfK' } & Omit<BestOfKOptions, 'temperature'>);

/**
 * A sampler, as the processors it composes. Unset fields are off. Order (fixed): penalties → temperature
 * → support constraints (topK → topP → minP → typical → epsilon, each on the survivors of the previous
 * one, as Hugging Face chains its warpers) → regulariser → sample.
 */
export interface SamplerSpec {
  /** Argmax of the penalised logits (ties: lowest id); excludes temperature, constraints and regulariser. */
  greedy?: boolean;
  /** T > 0, default 1: the scores become logits/T. */
  temperature?: number;
  /** Keep the k highest-scoring tokens (integer ≥ 1, ≤ V). */
  topK?: number;
  /** Keep the nucleus of mass p ∈ (0, 1]. */
  topP?: number;
  /** Keep tokens with probability ≥ minP · max probability, minP ∈ [0, 1]. */
  minP?: number;
  /** Locally typical set of mass ∈ (0, 1]. */
  typical?: number;
  /** Drop tokens with probability < ε, ε ∈ [0, 1). */
  epsilon?: number;
  /** HF's repetition penalty θ > 0 (1 = off) over the prompt and generated tokens: s < 0 ? s·θ : s/θ. */
  repetitionPenalty?: number;
  /** OpenAI's presence penalty (0 = off) over generated tokens: s − presence·1[count > 0]. */
  presencePenalty?: number;
  /** OpenAI's frequency penalty (0 = off) over generated tokens: s − frequency·count. */
  frequencyPenalty?: number;
  /** Default 'softmax'; 'entmax' and 'bestOfK' take the object form. */
  regularizer?: RegularizerSpec;
}

export type Regularizer =
  | { kind: 'softmax' }
  | { kind: 'sparsemax'; lambda: number }
  | { kind: 'entmax'; alpha: number; lambda: number }
  | { kind: 'bestOfK'; settings: BokSettings };

export interface Penalties {
  repetition: number;
  presence: number;
  frequency: number;
}

/** A validated spec: every field checked, defaults filled, neutral penalties dropped. */
export interface SamplerPlan {
  greedy: boolean;
  temperature: number;
  topK: number | undefined;
  topP: number | undefined;
  minP: number | undefined;
  typical: number | undefined;
  epsilon: number | undefined;
  penalties: Penalties | undefined;
  regularizer: Regularizer;
  /** The common path (softmax, only temperature/topK/topP/minP, no penalties): one fused kernel. */
  fused: boolean;
}

const FIELDS = [
  'greedy',
  'temperature',
  'topK',
  'topP',
  'minP',
  'typical',
  'epsilon',
  'repetitionPenalty',
  'presencePenalty',
  'frequencyPenalty',
  'regularizer',
] as const;

function optional<T>(value: T | undefined, check: (v: T) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}

function checkRegularizer(spec: RegularizerSpec | undefined): Regularizer {
  if (spec === undefined || spec === 'softmax') return { kind: 'softmax' };
  if (spec === 'sparsemax') return { kind: 'sparsemax', lambda: 1 };
  if (spec === null || typeof spec !== 'object') {
    throw new ValueError(
      `spec.regularizer: expected 'softmax', 'sparsemax' or { kind: 'softmax' | 'sparsemax' | 'entmax' | 'bestOfK', ... }, received ${describeValue(spec)}`,
    );
  }
  const lambdaOf = (v: number | undefined) =>
    checkRange(v ?? 1, { min: 0, minExclusive: true, hint: 'λ = 0 is greedy decoding: use { greedy: true }' }, 'spec.regularizer.lambda');
  const keys = (known: readonly string[]) => checkOptions(spec as Record<string, unknown>, known, 'spec.regularizer');
  switch (spec.kind) {
    case 'softmax':
      keys(['kind']);
      return { kind: 'softmax' };
    case 'sparsemax':
      keys(['kind', 'lambda']);
      return { kind: 'sparsemax', lambda: lambdaOf(spec.lambda) };
    case 'entmax':
      keys(['kind', 'alpha', 'lambda']);
      return {
        kind: 'entmax',
        alpha: checkRange(
          spec.alpha,
          { min: 1, minExclusive: true, hint: "α = 1 is softmax: use regularizer 'softmax'" },
          'spec.regularizer.alpha',
        ),
        lambda: lambdaOf(spec.lambda),
      };
    case 'bestOfK': {
      const { kind: _kind, ...opts } = spec;
      if ('temperature' in opts) {
        throw new ValueError(
          `spec.regularizer.temperature: expected no temperature inside the regulariser (the sampler's temperature applies first), received ${describeValue((opts as { temperature?: unknown }).temperature)}`,
        );
      }
      return { kind: 'bestOfK', settings: resolveBestOfK(opts, 'spec.regularizer.') };
    }
    default:
      throw new ValueError(
        `spec.regularizer.kind: expected 'softmax', 'sparsemax', 'entmax' or 'bestOfK', received ${describeValue((spec as { kind?: unknown }).kind)}`,
      );
  }
}

/** Validates a sampler spec once, naming the offending field; see `SamplerSpec` for each field's range. */
export function checkSamplerSpec(options: SamplerSpec | undefined): SamplerPlan {
  const spec = checkOptions(options, FIELDS, 'spec');
  if (spec.greedy !== undefined && typeof spec.greedy !== 'boolean') {
    throw new ValueError(`spec.greedy: expected a boolean, received ${describeValue(spec.greedy)}`);
  }
  const greedy = spec.greedy === true;
  if (greedy) {
    const extra = (['temperature', 'topK', 'topP', 'minP', 'typical', 'epsilon', 'regularizer'] as const).filter(
      (f) => spec[f] !== undefined,
    );
    if (extra.length > 0) {
      throw new ValueError(
        `spec.${extra[0]}: expected nothing with greedy: true (the argmax ignores it), received ${describeValue(spec[extra[0] as keyof SamplerSpec])}`,
      );
    }
  }
  const temperature = checkTemperature(spec.temperature ?? 1, 'spec.temperature');
  const topK = optional(spec.topK, (v) => checkRange(v, { min: 1, integer: true }, 'spec.topK'));
  const topP = optional(spec.topP, (v) => checkTopP(v, 'spec.topP'));
  const minP = optional(spec.minP, (v) => checkRange(v, { min: 0, max: 1 }, 'spec.minP'));
  const typical = optional(spec.typical, (v) => checkRange(v, { min: 0, minExclusive: true, max: 1 }, 'spec.typical'));
  const epsilon = optional(spec.epsilon, (v) => checkRange(v, { min: 0, max: 1, maxExclusive: true }, 'spec.epsilon'));
  const repetition = checkRange(
    spec.repetitionPenalty ?? 1,
    { min: 0, minExclusive: true, hint: '1 turns it off' },
    'spec.repetitionPenalty',
  );
  const presence = checkRange(spec.presencePenalty ?? 0, {}, 'spec.presencePenalty');
  const frequency = checkRange(spec.frequencyPenalty ?? 0, {}, 'spec.frequencyPenalty');
  const penalties = repetition === 1 && presence === 0 && frequency === 0 ? undefined : { repetition, presence, frequency };
  const regularizer = checkRegularizer(spec.regularizer);
  const fused = !greedy && regularizer.kind === 'softmax' && penalties === undefined && typical === undefined && epsilon === undefined;
  return { greedy, temperature, topK, topP, minP, typical, epsilon, penalties, regularizer, fused };
}
