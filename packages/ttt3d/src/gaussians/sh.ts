/** Degree-0 real spherical harmonic, 1 / (2√π) (3DGS utils/sh_utils.py, gsplat `_constants.py`). */
export const SH_C0 = 0.28209479177387814;

/** Largest SH degree the rasteriser evaluates. */
export const MAX_SH_DEGREE = 3;

/** Coefficients per channel for SH degree `degree`: (degree + 1)². */
export function shCoefficients(degree: number): number {
  return (degree + 1) * (degree + 1);
}

/** The SH degree with `k` coefficients per channel (1, 4, 9, 16 → 0–3), or −1 for any other count. */
export function shDegreeOf(k: number): number {
  const d = Math.round(Math.sqrt(k)) - 1;
  return d >= 0 && d <= MAX_SH_DEGREE && shCoefficients(d) === k ? d : -1;
}

/**
 * The DC coefficient that renders as colour `c` (rendered colour = SH_C0·dc + 0.5, 3DGS' `RGB2SH`).
 */
export function rgbToDc(c: number): number {
  return (c - 0.5) / SH_C0;
}

/** The colour a DC coefficient renders as, before clamping at 0 (3DGS' `SH2RGB`). */
export function dcToRgb(dc: number): number {
  return dc * SH_C0 + 0.5;
}
