import { type Tensor, tf } from '@tessera/tensor-core';
import { minPMask, nucleusMask, topKMask } from '../closed-forms/masks.js';
import { restrict, softmaxOver, tempered } from '../closed-forms/support.js';
import { nanRowsOf, screenRows } from '../rows.js';
import { inverseCdfReference } from '../sample/reference.js';
import type { FusedAttrs } from './attrs.js';

/**
 * The unfused composite in tfjs ops (the oracle of the fused kernels): the closed forms' supports in
 * Hugging Face's warper order — temperature → top-k → top-p (over the top-k renormalised distribution)
 * → min-p — then softmax over the kept set and the inverse CDF, after the closed forms' non-finite
 * rules (`screenRows`: +∞ tokens share the mass; a NaN or all −∞ row draws (−1, NaN)).
 * `logits: [B, V]`, `u: [B]` → `[B, 2]`.
 */
export function fusedReference(logits: Tensor, u: Tensor, { temperature, k, p, pMin }: FusedAttrs): Tensor {
  return tf.tidy(() => {
    const screened = screenRows(tempered(logits, temperature));
    let z = screened.z;
    const vocab = logits.shape[1] as number;
    if (k > 0 && k < vocab) z = restrict(z, topKMask(z, k));
    if (p < 1) z = restrict(z, nucleusMask(z, p));
    const keep = pMin > 0 ? minPMask(z, pMin) : tf.onesLike(z).cast('bool');
    return inverseCdfReference(nanRowsOf(softmaxOver(z, keep), screened.nanRows), u);
  });
}
