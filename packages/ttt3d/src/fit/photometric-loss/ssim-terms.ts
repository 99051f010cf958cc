import { C1, C2 } from './window.js';

/**
 * SSIM at one pixel and channel from its windowed statistics μx, μy, E[x²], E[y²], E[xy], as the composite
 * (reference.ts) computes it: S = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)). With the
 * statistics as independent variables, also the partials the backward blurs back onto the pixels:
 * a = ∂S/∂μx = 2μy(n₂ − n₁)/(d₁d₂) + 2μx·S·(1/d₂ − 1/d₁), b = ∂S/∂E[x²] = −S/d₂, c = ∂S/∂E[xy] = 2n₁/(d₁d₂),
 * so that ∂S̄/∂x_q = (1/M)·(G∗a + 2x_q·G∗b + y_q·G∗c)(q) (G the symmetric, zero-padded window; M pixels × 3).
 * ssim.wgsl.ts holds the same expressions for the GPU.
 */
export function ssimTerms(mx: number, my: number, exx: number, eyy: number, exy: number): { s: number; a: number; b: number; c: number } {
  const mxy = mx * my;
  const n1 = mxy * 2 + C1;
  const n2 = (exy - mxy) * 2 + C2;
  const d1 = mx * mx + my * my + C1;
  const d2 = exx - mx * mx + (eyy - my * my) + C2;
  const s = (n1 * n2) / (d1 * d2);
  const a = (2 * my * (n2 - n1)) / (d1 * d2) + 2 * mx * s * (1 / d2 - 1 / d1);
  return { s, a, b: -s / d2, c: (2 * n1) / (d1 * d2) };
}
