import { checkRange, describeValue, ShapeError, type Tensor, ValueError } from '@tessera/tensor-core';
import { checkTemperature, checkTopK, checkTopP, validateLogits } from '../logits.js';

/**
 * The problem `max_{q ∈ Δ ∩ C} ⟨q, s⟩ − λ Ω(q)` that `kkt` certifies a distribution against: one case per
 * closed form, plus `kl` (Ω = KL(q ‖ p_ref), optimum q ∝ p_ref · exp(s/λ): Best-of-K with β = 0).
 */
export type KktObjective =
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

const KINDS = ['greedy', 'softmax', 'topK', 'topP', 'minP', 'typical', 'epsilon', 'sparsemax', 'entmax', 'kl'];

/** Validates an objective's parameters with the same rules as the matching decoder; `s` is `[B, V]` or `[V]`. */
export function validateObjective(objective: KktObjective, s: Tensor, vocab: number): void {
  if (objective === null || typeof objective !== 'object' || !KINDS.includes(objective.kind)) {
    const got = objective !== null && typeof objective === 'object' ? describeValue(objective.kind) : describeValue(objective);
    throw new ValueError(`objective.kind: expected one of ${KINDS.join(', ')}, received ${got}`);
  }
  switch (objective.kind) {
    case 'greedy':
      return;
    case 'softmax':
      checkTemperature(objective.temperature, 'objective.temperature');
      return;
    case 'topK':
      checkTopK(objective.k, vocab, 'objective.k');
      checkTemperature(objective.temperature, 'objective.temperature');
      return;
    case 'topP':
      checkTopP(objective.p, 'objective.p');
      checkTemperature(objective.temperature, 'objective.temperature');
      return;
    case 'minP':
      checkRange(objective.pMin, { min: 0, max: 1 }, 'objective.pMin');
      checkTemperature(objective.temperature, 'objective.temperature');
      return;
    case 'typical':
      checkRange(objective.mass, { min: 0, minExclusive: true, max: 1 }, 'objective.mass');
      checkTemperature(objective.temperature, 'objective.temperature');
      return;
    case 'epsilon':
      checkRange(objective.eps, { min: 0, max: 1, maxExclusive: true }, 'objective.eps');
      checkTemperature(objective.temperature, 'objective.temperature');
      return;
    case 'sparsemax':
      checkLambda(objective.lambda);
      return;
    case 'entmax':
      checkRange(objective.alpha, { min: 1, minExclusive: true, hint: 'α = 1 is softmax: use kind softmax' }, 'objective.alpha');
      checkLambda(objective.lambda);
      return;
    case 'kl': {
      checkLambda(objective.lambda);
      validateLogits(objective.reference, 'objective.reference');
      const want = s.shape.join(', ');
      if (objective.reference.shape.join(', ') !== want) {
        throw new ShapeError(`objective.reference: expected the shape of s [${want}], received [${objective.reference.shape.join(', ')}]`);
      }
      return;
    }
  }
}

function checkLambda(lambda: number): void {
  checkRange(lambda, { min: 0, minExclusive: true, hint: 'λ = 0 is greedy decoding: use kind greedy' }, 'objective.lambda');
}
