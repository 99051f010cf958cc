// 3DGS' training SSIM (gaussian-splatting utils/loss_utils.py): 11×11 Gaussian window with σ = 1.5.
export const WINDOW = 11;
/** Taps on each side of the centre. */
export const RADIUS = (WINDOW - 1) / 2;
const SIGMA = 1.5;
export const C1 = 0.01 ** 2;
export const C2 = 0.03 ** 2;

/** The 1D Gaussian window (normalised to sum 1, in float32); the 11×11 window is its outer product with itself. */
export function window1d(): Float32Array {
  const g = new Float32Array(WINDOW);
  let sum = 0;
  for (let i = 0; i < WINDOW; i++) {
    const d = i - RADIUS;
    g[i] = Math.exp(-(d * d) / (2 * SIGMA * SIGMA));
    sum += g[i]!;
  }
  return g.map((v) => v / sum);
}
