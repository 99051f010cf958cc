import { checkRange, describeValue, ValueError } from '@tessera/tensor-core';

/** Degree-0 real spherical harmonic, 1 / (2√π) (3DGS utils/sh_utils.py, gsplat `_constants.py`). */
export const SH_C0 = 0.28209479177387814;

/** Largest SH degree the rasteriser evaluates. */
export const MAX_SH_DEGREE = 3;

/** Coefficients per channel for SH degree `degree`: (degree + 1)². */
export function shCoefficients(degree: number): number {
  checkRange(degree, { min: 0, max: MAX_SH_DEGREE, integer: true }, 'degree');
  return (degree + 1) * (degree + 1);
}

/** The SH degree with `k` coefficients per channel (1, 4, 9, 16 → 0–3), or −1 for any other count (an integer ≥ 0). */
export function shDegreeOf(k: number): number {
  if (!Number.isSafeInteger(k) || k < 0) throw new ValueError(`k: expected an integer ≥ 0, received ${describeValue(k)}`);
  const d = Math.round(Math.sqrt(k)) - 1;
  return d >= 0 && d <= MAX_SH_DEGREE && (d + 1) * (d + 1) === k ? d : -1;
}

/**
 * The DC coefficient that renders as colour `c` (rendered colour = SH_C0·dc + 0.5, 3DGS' `RGB2SH`).
 */
export function rgbToDc(c: number): number {
  checkRange(c, {}, 'c');
  return (c - 0.5) / SH_C0;
}

/** The colour a DC coefficient renders as, before clamping at 0 (3DGS' `SH2RGB`). */
export function dcToRgb(dc: number): number {
  checkRange(dc, {}, 'dc');
  return dc * SH_C0 + 0.5;
}
