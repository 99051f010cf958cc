/**
 * WGSL shared by the forward and backward compositing programs, so that both take identical per-pixel
 * decisions (skip, stop) from identical arithmetic. Needs RASTER_CONSTANTS_WGSL.
 */
export const BLEND_WGSL = `
  /** Threads of a tile workgroup: one per pixel of a 16×16 tile. */
  const TILE_PIXELS = 256;

  /** Splat at a pixel: (σ, exp(−σ), dx, dy) with d = mean2d − pixel centre (gsplat's delta). */
  fn splatFalloff(xy : vec2<f32>, conic : vec3<f32>, pixel : vec2<f32>) -> vec4<f32> {
    let d = xy - pixel;
    let sigma = 0.5 * (conic.x * d.x * d.x + conic.z * d.y * d.y) + conic.y * d.x * d.y;
    return vec4<f32>(sigma, exp(-sigma), d.x, d.y);
  }

  fn splatAlpha(opacity : f32, vis : f32) -> f32 {
    return min(MAX_ALPHA, opacity * vis);
  }

  /** Whether a splat is skipped at a pixel (σ < 0 or α < 1/255). */
  fn splatSkipped(sigma : f32, alpha : f32) -> bool {
    return sigma < 0.0 || alpha < MIN_ALPHA;
  }
`;
