import { logSoftmax, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { BoundBokSettings } from './validate.js';
import { bokStepOp, kthLargestOp, type StepWeights } from './op.js';
import { defaultStepSize } from './step-size.js';

/**
 * Tempered log-probabilities log p = logSoftmax(logits / T), `[B, V]`. They are both the KL anchor p and
 * the scores s: s = logits/T differs from log p by a per-row constant, which cancels in every mirror step.
 */
export function temperedLogProbs(logits: Tensor, temperature: number): Tensor {
  return tf.tidy(() => logSoftmax(temperature === 1 ? logits : tf.div(logits, temperature)));
}

/**
 * Best-of-K by mirror ascent in log space (arXiv 2602.18292, Algorithm 1), for any weights: `logits: [B, V]`
 * → q `[B, V]`. Warm start log q₀ = log p, then J steps log q ← logSoftmax(log q + η g) with the Eq. 21
 * gradient g = s − λ(log q − log p) + β̄ w K (1 − q)^{K−1} (its constant −λ cancels in the normalisation),
 * each step one fused `bokStepOp` pass plus tensor-core's split-row log-softmax. Each iterate is freed as
 * soon as the next exists (at 256×131072 one is 128 MB).
 */
export function logSpaceRows(logits: Tensor, settings: BoundBokSettings): Tensor {
  const { k, lambda, betaBar, steps, temperature, weights, r } = settings;
  const rows = logits.shape[0] as number;
  return tf.tidy(() => {
    const logP = temperedLogProbs(logits, temperature);
    const kind: StepWeights = typeof weights === 'string' ? weights : 'tensor';
    // the step derives the built-in weights itself, from the r-th largest log p per row or from log p
    let w = logP;
    if (weights === 'uniform-top-r') w = kthLargestOp({ x: logP }, { k: r });
    // a user's [V] weights are expanded to [B, V], which the step indexes per element
    else if (typeof weights !== 'string') w = weights.rank === 2 ? weights : tf.mul(tf.ones([rows, 1]), weights);
    const bound = typeof weights === 'string' ? 1 : tf.max(w, -1, true);
    const eta = settings.eta ?? defaultStepSize(lambda, betaBar, k, bound);
    const etaRows = typeof eta === 'number' ? tf.fill([rows, 1], eta) : eta;
    const attrs = { lambda, coverage: betaBar * k, kMinus1: k - 1, weights: kind };
    let logQ = logP;
    for (let j = 0; j < steps; j++) {
      const previous = logQ;
      logQ = tf.tidy(() => logSoftmax(bokStepOp({ logQ: previous, logP, w, eta: etaRows }, attrs)));
      if (previous !== logP) previous.dispose();
    }
    return tf.exp(logQ);
  });
}
