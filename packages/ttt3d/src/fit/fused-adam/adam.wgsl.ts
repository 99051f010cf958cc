/** Uniforms of both Adam programs: the float32 scalars of `adamScalars`, in that order. */
export const ADAM_UNIFORMS =
  'n : i32, beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, correction1 : f32, correction2 : f32, epsilon : f32, negLr : f32,';

/** Threads per workgroup, one element each. */
export const ADAM_WORKGROUP = 256;

/**
 * The new moments (m', v') of element i from its gradient and the interleaved old moments: the same
 * expression in both programs, so the parameter program (which recomputes them rather than waiting for the
 * moment program's output) steps with exactly the moments the moment program stores.
 */
export const ADAM_MOMENTS_WGSL = `
  fn adamMoments(i : i32) -> vec2<f32> {
    let g = grad[i];
    let m = moments[2 * i] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
    let v = moments[2 * i + 1] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2;
    return vec2<f32>(m, v);
  }
`;
