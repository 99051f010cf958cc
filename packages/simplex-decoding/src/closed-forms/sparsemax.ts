import { checkRange, type Tensor, tf, ValueError, describeValue } from '@tessera/tensor-core';
import { asRows, checkOptions, restoreShape, validateLogits } from '../logits.js';
import { sparsemaxBisect } from './sparsemax-bisect.js';
import { sparsemaxSort } from './sparsemax-sort.js';
import { tempered } from './support.js';

/** Options of `sparsemax`. */
export interface SparsemaxOptions {
  /** λ > 0 (default 1); λ = 0 is greedy decoding. */
  lambda?: number;
  /**
   * 'sort' (threshold algorithm, default) or 'bisect' (sort-free, one WGSL dispatch on WebGPU, for large
   * V). They agree to 1e-6 for |s/λ| ≤ 8, and to a few float32 ulps of s/λ beyond.
   */
  method?: 'sort' | 'bisect';
}

/**
 * Sparsemax: `q = [s/λ − τ]₊` with τ such that rows sum to 1 — the Euclidean projection of s/λ onto the
 * simplex. Objective: `max ⟨q, s⟩ − λ·½‖q‖²` over `C = Δ` (paper §3.5, Eq. 7); exact zeros below the
 * threshold.
 *
 * `logits: [B, V] | [V]` float32 → `q` of the same shape. −∞ logits get q = 0; an all −∞ row gives NaN;
 * NaN logits give unspecified rows (validate with `assertNoNaN` where it matters).
 */
export function sparsemax(logits: Tensor, opts: SparsemaxOptions = {}): Tensor {
  const { batched } = validateLogits(logits);
  const o = checkOptions(opts, '{ lambda?, method? }');
  const lambda = checkRange(o.lambda ?? 1, { min: 0, minExclusive: true, hint: 'λ = 0 is greedy decoding: use greedy()' }, 'lambda');
  const method = o.method ?? 'sort';
  if (method !== 'sort' && method !== 'bisect') {
    throw new ValueError(`method: expected 'sort' or 'bisect', received ${describeValue(method)}`);
  }
  return tf.tidy(() => {
    const z = tempered(asRows(logits), lambda);
    return restoreShape(method === 'sort' ? sparsemaxSort(z) : sparsemaxBisect(z), batched);
  });
}
