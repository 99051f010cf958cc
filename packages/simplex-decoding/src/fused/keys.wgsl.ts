import { POSITIVE_INFINITY_WGSL } from '../non-finite.wgsl.js';

/**
 * The order-preserving u32 keys of float32 scores: flipping the sign bit of non-negative floats and all
 * bits of negative ones makes unsigned order equal float order, so thresholds are searched over integers
 * and always land on a value present in the row. `keyOf`, its inverse `valueOf`, and `insideCut`.
 */
export const KEY_ORDER_WGSL = `
  fn keyOf(z : f32) -> u32 {
    let b = bitcast<u32>(z);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
  }

  fn valueOf(key : u32) -> f32 {
    return bitcast<f32>(select(~key, key & 0x7fffffffu, (key & 0x80000000u) != 0u));
  }

  // the top-k (or top-p) cut: every key above cutKey, and tokens tied at cutKey up to id cutId
  fn insideCut(key : u32, id : u32, cutKey : u32, cutId : u32) -> bool {
    return key > cutKey || (key == cutKey && id <= cutId);
  }
`;

/**
 * WGSL shared by the fused programs. Tempered scores z = s / T (skipped at T = 1, as the closed forms
 * do; −0 becomes +0 so that equal values get equal keys) and their order-preserving u32 keys
 * (`KEY_ORDER_WGSL`). Also `isPositiveInfinity` and `limited` (non-finite.wgsl.ts) for rows holding +∞.
 * Expects the uniform `temperature`.
 */
export const KEYS_WGSL = `
  ${POSITIVE_INFINITY_WGSL}
  fn tempered(s : f32) -> f32 {
    var z = s;
    if (uniforms.temperature != 1.0) {
      z = s / uniforms.temperature;
    }
    return select(z, 0.0, z == 0.0);
  }
${KEY_ORDER_WGSL}`;

/**
 * Per-row result of the selection program, int32 `[B, PARAMS]`: status (1 = drawn already, from the
 * candidates in workgroup memory, or (−1, NaN) for a row holding a NaN; in the 'cut' flavour, 1 = a NaN
 * row or one with no finite logit), bits of max z, the cut (key, last tied id), for drawn rows the id and
 * bits of its logprob, whether the row holds +∞ (its scores are then `limited`: 0 on the +∞ tokens, −∞
 * elsewhere), and in the 'cut' flavour the bits of the kept mass Σ exp(z − max z) inside the cut.
 */
export const PARAMS = 8;
export const PARAM = { status: 0, zmax: 1, cutKey: 2, cutId: 3, id: 4, logprob: 5, limit: 6, mass: 7 } as const;
