/**
 * WGSL shared by the Best-of-K programs. `log1mExact(q)` = log(1 − q) without losing the tiny q of most
 * tokens (Goldberg's log1p correction). `mirrorStep(lq, lp)` is one unnormalised mirror step of a token
 * with coverage weight 1 (arXiv 2602.18292, Eqs. 21–22 in log space, s = log p, the constant dropped):
 * lq + η((1 + λ) lp − λ lq + β̄K (1 − q)^{K−1}); it reads the uniforms `lambda`, `eta`, `coverage` (β̄K)
 * and `kMinus1`.
 */
export const LOG1M_WGSL = `
  fn log1mExact(q : f32) -> f32 {
    let u = 1.0 - q;
    if (u == 1.0) {
      return -q;
    }
    return log(u) * (-q) / (u - 1.0);
  }
`;

export const MIRROR_STEP_WGSL = `
  ${LOG1M_WGSL}
  fn mirrorStep(lq : f32, lp : f32) -> f32 {
    var g = (1.0 + uniforms.lambda) * lp - uniforms.lambda * lq;
    if (uniforms.coverage != 0.0) {
      var untouched = 1.0;
      if (uniforms.kMinus1 != 0.0) {
        untouched = exp(uniforms.kMinus1 * log1mExact(exp(lq)));
      }
      g = g + uniforms.coverage * untouched;
    }
    return lq + uniforms.eta * g;
  }
`;
