import { checkOptions, checkRange, describeValue, ShapeError, type Tensor, ValueError } from '@tessera/tensor-core';
import { checkTemperature, checkTopK, checkTopP, validateLogits } from '../validate.js';

/**
 * The problem `max_{q ∈ Δ ∩ C} ⟨q, s⟩ − λ Ω(q)` that `kkt` certifies a distribution against: one case per
 * closed form, plus `kl` (Ω = KL(q ‖ p_ref), optimum q ∝ p_ref · exp(s/λ): Best-of-K with β = 0).
 * `temperature` and `lambda` default to 1, as in the decoders.
 */
export type KktObjective =
  | { kind: 'greedy' }
  | { kind: 'softmax'; temperature?: number }
  | { kind: 'topK'; k: number; temperature?: number }
  | { kind: 'topP'; p: number; temperature?: number }
  | { kind: 'minP'; pMin: number; temperature?: number }
  | { kind: 'typical'; mass: number; temperature?: number }
  | { kind: 'epsilon'; eps: number; temperature?: number }
  | { kind: 'sparsemax'; lambda?: number }
  | { kind: 'entmax'; alpha: number; lambda?: number }
  | { kind: 'kl'; lambda?: number; reference: Tensor };

/** A validated objective, defaults filled. */
export type CheckedObjective =
  | { kind: 'greedy' }
  | { kind: 'softmax'; temperature: number }
  | { kind: 'topK'; k: number; temperature: number }
  | { kind: 'topP'; p: number; temperature: number }
  | { kind: 'minP'; pMin: number; temperature: number }
  | { kind: 'typical'; mass: number; temperature: number }
  | { kind: 'epsilon'; eps: number; temperature: number }
  | { kind: 'sparsemax'; lambda: number }
  | { kind: 'entmax'; alpha: number; lambda: number }
  | { kind: 'kl'; lambda: number; reference: Tensor };

/** The keys each objective kind takes, `kind` included. */
const KEYS = {
  greedy: [],
  softmax: ['temperature'],
  topK: ['k', 'temperature'],
  topP: ['p', 'temperature'],
  minP: ['pMin', 'temperature'],
  typical: ['mass', 'temperature'],
  epsilon: ['eps', 'temperature'],
  sparsemax: ['lambda'],
  entmax: ['alpha', 'lambda'],
  kl: ['lambda', 'reference'],
} as const;

type Kind = keyof typeof KEYS;

function isKind(kind: unknown): kind is Kind {
  return typeof kind === 'string' && Object.hasOwn(KEYS, kind);
}

function lambdaOf(lambda: number | undefined): number {
  return checkRange(lambda ?? 1, { min: 0, minExclusive: true, hint: 'λ = 0 is greedy decoding: use kind greedy' }, 'objective.lambda');
}

function temperatureOf(temperature: number | undefined): number {
  return checkTemperature(temperature ?? 1, 'objective.temperature');
}

/**
 * Validates an objective with the same rules as the matching decoder (unknown keys are errors, as in
 * every options object); `s` is `[B, V]` or `[V]`. Returns it with the defaults filled.
 */
export function validateObjective(objective: KktObjective, s: Tensor, vocab: number): CheckedObjective {
  const kinds = Object.keys(KEYS).join(', ');
  if (objective === null || typeof objective !== 'object' || Array.isArray(objective) || !isKind(objective.kind)) {
    const got = objective !== null && typeof objective === 'object' ? describeValue(objective.kind) : describeValue(objective);
    throw new ValueError(`objective.kind: expected one of ${kinds}, received ${got}`);
  }
  const o = checkOptions(objective as Record<string, unknown>, ['kind', ...KEYS[objective.kind]], 'objective');
  switch (objective.kind) {
    case 'greedy':
      return { kind: 'greedy' };
    case 'softmax':
      return { kind: 'softmax', temperature: temperatureOf(objective.temperature) };
    case 'topK':
      return { kind: 'topK', k: checkTopK(objective.k, vocab, 'objective.k'), temperature: temperatureOf(objective.temperature) };
    case 'topP':
      return { kind: 'topP', p: checkTopP(objective.p, 'objective.p'), temperature: temperatureOf(objective.temperature) };
    case 'minP':
      return {
        kind: 'minP',
        pMin: checkRange(objective.pMin, { min: 0, max: 1 }, 'objective.pMin'),
        temperature: temperatureOf(objective.temperature),
      };
    case 'typical':
      return {
        kind: 'typical',
        mass: checkRange(objective.mass, { min: 0, minExclusive: true, max: 1 }, 'objective.mass'),
        temperature: temperatureOf(objective.temperature),
      };
    case 'epsilon':
      return {
        kind: 'epsilon',
        eps: checkRange(objective.eps, { min: 0, max: 1, maxExclusive: true }, 'objective.eps'),
        temperature: temperatureOf(objective.temperature),
      };
    case 'sparsemax':
      return { kind: 'sparsemax', lambda: lambdaOf(objective.lambda) };
    case 'entmax':
      return {
        kind: 'entmax',
        alpha: checkRange(objective.alpha, { min: 1, minExclusive: true, hint: 'α = 1 is softmax: use kind softmax' }, 'objective.alpha'),
        lambda: lambdaOf(objective.lambda),
      };
    case 'kl': {
      const lambda = lambdaOf(objective.lambda);
      const reference = o.reference as Tensor;
      validateLogits(reference, 'objective.reference');
      const want = s.shape.join(', ');
      if (reference.shape.join(', ') !== want) {
        throw new ShapeError(`objective.reference: expected the shape of s [${want}], received [${reference.shape.join(', ')}]`);
      }
      return { kind: 'kl', lambda, reference };
    }
  }
}
