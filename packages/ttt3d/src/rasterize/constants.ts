/**
 * The rasteriser's fixed rules (papers/ttt3d.md §4, "Forward rasterisation rules, exactly as gsplat implements
 * them"). The dense reference, the host kernel and the WGSL kernels read them from here, so they cannot drift apart.
 */

/** Tile edge in pixels (gsplat `tile_size`, graphdeco BLOCK_X = BLOCK_Y). */
export const TILE_SIZE = 16;
/** Camera-space depth must lie strictly inside (NEAR_PLANE, FAR_PLANE) (gsplat `near_plane`, `far_plane`). */
export const NEAR_PLANE = 0.01;
export const FAR_PLANE = 1e10;
/** Low-pass dilation added to the 2D covariance diagonal (gsplat `eps2d`, classic mode: no opacity compensation). */
export const EPS_2D = 0.3;
/**
 * Largest half-extent of a Gaussian's tile box, in standard deviations per axis (gsplat `GAUSSIAN_EXTEND`). The
 * kernels list a Gaussian of opacity o in the tiles holding a pixel centre within k·sqrt(Σ'_axis) of its mean per
 * axis, k² = RADIUS_SIGMAS² + 2 ln o (gsplat's opacity-aware extent, Radl et al. 2024, arXiv 2402.00525 §B.2, with a
 * margin). Why no tile it leaves out could change a pixel: a pixel is blended only where α = min(0.99, o·e^−σ) ≥
 * 1/255 (MIN_ALPHA), σ = ½ dᵀΣ'⁻¹d with Σ' the dilated covariance (EPS_2D included) and d = mean − pixel centre; so
 * σ ≤ ln(255·o). Over the pixels at a given dx, σ is least at ½ dx²/Σ'_xx (Σ'⁻¹'s Schur complement), so a blended
 * pixel has dx² ≤ 2 ln(255·o)·Σ'_xx < k²·Σ'_xx, the margin being k² − 2 ln(255·o) = RADIUS_SIGMAS² − 2 ln 255 =
 * 0.0064 (σ margin 0.0032) for every o: the margin the fixed 3.33σ box always had at o = 1, which float32 rounding
 * of σ, exp and the conic stays far below (except for needle-thin Gaussians, condition number Σ'_xx·Σ'_yy/det Σ'
 * above ~10⁴, where as with the fixed box a pixel at α ≈ 1/255 can flip). At o = 1, k = RADIUS_SIGMAS; below
 * o = e^(−RADIUS_SIGMAS²/2) ≈ 1/255.8, k² ≤ 0 and the Gaussian is culled (every α ≤ o < 1/255 there anyway).
 */
export const RADIUS_SIGMAS = 3.33;
/** α = min(MAX_ALPHA, o·exp(−σ)); the value the issue and notes §4 prescribe (graphdeco's 0.99). */
export const MAX_ALPHA = 0.99;
/** A Gaussian whose α at a pixel is below this is skipped there. */
export const MIN_ALPHA = 1 / 255;
/** A pixel stops before the Gaussian that would bring its transmittance to ≤ this (not added). */
export const MIN_TRANSMITTANCE = 1e-4;
/** Field-of-view margin of the Jacobian clamp: |x/z| ≤ (edge distance)/f + 0.3·tan(fov/2) (gsplat `persp_proj`). */
export const FOV_CLAMP_MARGIN = 0.3;

/**
 * Real SH basis up to degree 3 in gsplat's evaluation order (`_eval_sh_bases_fast`, Sloan 2013 "Efficient
 * Spherical Harmonic Evaluation"): constants written as gsplat writes them, so float32 results agree.
 */
export const SH_BASIS = {
  c0: 0.2820947917738781,
  c1: 0.48860251190292,
  c2a: 0.5462742152960395,
  c2b: -1.092548430592079,
  c2c: 0.9461746957575601,
  c2d: 0.3153915652525201,
  c3a: -0.5900435899266435,
  c3b: 1.445305721320277,
  c3c: -2.285228997322329,
  c3d: 0.4570457994644658,
  c3e: 1.865881662950577,
  c3f: 1.119528997770346,
} as const;

/** WGSL constants for the same rules; every program that needs them includes this block. */
export const RASTER_CONSTANTS_WGSL = `
  const TILE_SIZE = ${TILE_SIZE};
  const NEAR_PLANE = ${NEAR_PLANE.toExponential()};
  const FAR_PLANE = ${FAR_PLANE.toExponential()};
  const EPS_2D = ${EPS_2D};
  const RADIUS_SIGMAS = ${RADIUS_SIGMAS};
  const MAX_ALPHA = ${MAX_ALPHA};
  const MIN_ALPHA = ${(MIN_ALPHA).toPrecision(17)};
  const MIN_TRANSMITTANCE = ${MIN_TRANSMITTANCE.toExponential()};
`;
