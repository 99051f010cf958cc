/**
 * The rasteriser's fixed rules (papers/ttt3d.md §4, "Forward rasterisation rules, exactly as gsplat implements
 * them"). Both the dense reference and the WGSL kernels read them from here, so the two cannot drift apart.
 */

/** Tile edge in pixels (gsplat `tile_size`, graphdeco BLOCK_X = BLOCK_Y). */
export const TILE_SIZE = 16;
/** Camera-space depth must lie strictly inside (NEAR_PLANE, FAR_PLANE) (gsplat `near_plane`, `far_plane`). */
export const NEAR_PLANE = 0.01;
export const FAR_PLANE = 1e10;
/** Low-pass dilation added to the 2D covariance diagonal (gsplat `eps2d`, classic mode: no opacity compensation). */
export const EPS_2D = 0.3;
/** Screen radius per axis = ceil(RADIUS_SIGMAS · sqrt(Σ'_axis)). */
export const RADIUS_SIGMAS = 3.33;
/** α = min(MAX_ALPHA, o·exp(−σ)); the value the issue and notes §4 prescribe (graphdeco's 0.99). */
export const MAX_ALPHA = 0.99;
/** A Gaussian whose α at a pixel is below this is skipped there. */
export const MIN_ALPHA = 1 / 255;
/** A pixel stops before the Gaussian that would bring its transmittance to ≤ this (not added). */
export const MIN_TRANSMITTANCE = 1e-4;
/** Field-of-view margin of the Jacobian clamp: |x/z| ≤ (edge distance)/f + 0.3·tan(fov/2) (gsplat `persp_proj`). */
export const FOV_CLAMP_MARGIN = 0.3;

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
