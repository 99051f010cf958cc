import { type Tensor, tf } from '@tessera/tensor-core';
import { epsilonMask, minPMask, nucleusMask, topKMask, typicalMask } from '../closed-forms/masks.js';
import { tempered } from '../closed-forms/support.js';
import type { CheckedObjective } from './validate.js';

/** The regularised score and the constraint set of one objective, both `[B, V]`. */
export interface RegularisedScore {
  /** r(v) = s(v) − λ ∂Ω/∂q(v) (paper Eq. 4). */
  score: Tensor;
  /** bool: v ∈ C (the tokens the constraint set allows), or null when C = Δ. */
  allowed: Tensor | null;
}

/**
 * log q with zeros read as the smallest normal float32: a token the optimum gives a probability below
 * float32's range (or that WebGPU flushes to zero) is not flagged, one it gives more is. Without it every
 * zero of an entropic q would have r = +∞ and a masked (−∞) logit r = NaN.
 */
const LOG_FLOAT32_MIN = Math.log(1.1754943508222875e-38);

function entropicScore(s: Tensor, q: Tensor, lambda: number, logReference?: Tensor): Tensor {
  const logQ = tf.where(tf.greater(q, 0), tf.log(q), tf.fill(q.shape, LOG_FLOAT32_MIN, 'float32'));
  // ∂Ω/∂q = 1 + log q for Ω = Σ q log q (Eq. 6); KL(q‖p) adds − log p
  const grad = logReference ? tf.sub(tf.add(logQ, 1), logReference) : tf.add(logQ, 1);
  return tf.sub(s, tf.mul(grad, tf.scalar(lambda, 'float32')));
}

/** r and C for `objective` on rows `s`, `q` (`[B, V]` float32, validated). */
export function regularisedScore(objective: CheckedObjective, s: Tensor, q: Tensor): RegularisedScore {
  switch (objective.kind) {
    case 'greedy':
      return { score: s, allowed: null };
    case 'softmax':
      return { score: entropicScore(s, q, objective.temperature), allowed: null };
    case 'topK':
      return {
        score: entropicScore(s, q, objective.temperature),
        allowed: topKMask(tempered(s, objective.temperature), objective.k),
      };
    case 'topP':
      return {
        score: entropicScore(s, q, objective.temperature),
        allowed: nucleusMask(tempered(s, objective.temperature), objective.p),
      };
    case 'minP':
      return {
        score: entropicScore(s, q, objective.temperature),
        allowed: minPMask(tempered(s, objective.temperature), objective.pMin),
      };
    case 'typical':
      return {
        score: entropicScore(s, q, objective.temperature),
        allowed: typicalMask(tempered(s, objective.temperature), objective.mass),
      };
    case 'epsilon':
      return {
        score: entropicScore(s, q, objective.temperature),
        allowed: epsilonMask(tempered(s, objective.temperature), objective.eps),
      };
    case 'sparsemax':
      // Ω = ½‖q‖², ∂Ω/∂q = q (Eq. 7)
      return { score: tf.sub(s, tf.mul(q, tf.scalar(objective.lambda, 'float32'))), allowed: null };
    case 'entmax': {
      // Ω = (Σ q^α − 1)/(α(α − 1)) (Tsallis), ∂Ω/∂q = q^{α−1}/(α − 1)
      const a1 = objective.alpha - 1;
      const grad = tf.div(tf.pow(q, tf.scalar(a1, 'float32')), tf.scalar(a1, 'float32'));
      return { score: tf.sub(s, tf.mul(grad, tf.scalar(objective.lambda, 'float32'))), allowed: null };
    }
    case 'kl': {
      const reference = objective.reference.rank === 1 ? tf.reshape(objective.reference, q.shape) : objective.reference;
      const allowed = tf.greater(reference, 0);
      return { score: entropicScore(s, q, objective.lambda, tf.log(reference)), allowed };
    }
  }
}
