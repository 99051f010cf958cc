import { softmax, type Tensor, tf } from '@tessera/tensor-core';
import { bestOfKRows } from '../best-of-k/iterate.js';
import { bindBestOfK } from '../best-of-k/validate.js';
import { entmax, epsilon, greedy, minP, sparsemax, topK, topP, typical } from '../closed-forms/index.js';
import { checkTopK } from '../validate.js';
import { applyPenalties, type TokenHistory } from './penalties.js';
import type { SamplerPlan } from './validate.js';

/**
 * Restricts scores `z: [B, V]` to the support of each constraint in turn: a token survives a constraint
 * when that constraint's closed form gives it positive probability, and the next constraint sees the
 * survivors only (−∞ elsewhere), as Hugging Face chains its warpers.
 */
function constrain(z: Tensor, plan: SamplerPlan): Tensor {
  const vocab = z.shape[1] as number;
  const stages: ((x: Tensor) => Tensor)[] = [];
  if (plan.topK !== undefined) {
    const k = checkTopK(plan.topK, vocab, 'spec.topK');
    stages.push((x) => topK(x, { k }));
  }
  if (plan.topP !== undefined) stages.push((x) => topP(x, { p: plan.topP as number }));
  if (plan.minP !== undefined) stages.push((x) => minP(x, { pMin: plan.minP as number }));
  if (plan.typical !== undefined) stages.push((x) => typical(x, { mass: plan.typical as number }));
  if (plan.epsilon !== undefined) stages.push((x) => epsilon(x, { eps: plan.epsilon as number }));
  let out = z;
  for (const stage of stages) out = tf.where(tf.greater(stage(out), 0), out, Number.NEGATIVE_INFINITY);
  return out;
}

function regularize(z: Tensor, plan: SamplerPlan): Tensor {
  const r = plan.regularizer;
  switch (r.kind) {
    case 'softmax':
      return softmax(z);
    case 'sparsemax':
      return sparsemax(z, { lambda: r.lambda });
    case 'entmax':
      return entmax(z, { alpha: r.alpha, lambda: r.lambda });
    case 'bestOfK':
      return bestOfKRows(z, bindBestOfK(r.settings, z.shape[0] as number, z.shape[1] as number, 'spec.regularizer.'));
  }
}

/**
 * The sampler's distribution for logits `[B, V]`: penalties → temperature → support constraints →
 * regulariser, each stage a closed form of this package (or Best-of-K). Greedy returns the one-hot argmax
 * of the penalised logits. → q `[B, V]`, rows summing to 1.
 */
export function composeDistribution(logits: Tensor, plan: SamplerPlan, history: TokenHistory): Tensor {
  return tf.tidy(() => {
    const s = plan.penalties === undefined ? logits : applyPenalties(logits, plan.penalties, history);
    if (plan.greedy) return greedy(s);
    // division, not a multiply by 1/T, to round exactly as the closed forms and HF's TemperatureLogitsWarper
    const z = plan.temperature === 1 ? s : tf.div(s, tf.scalar(plan.temperature, 'float32'));
    return regularize(constrain(z, plan), plan);
  });
}
