import type { ProgramUniform } from '@tessera/tensor-core';
import { FOV_CLAMP_MARGIN, TILE_SIZE } from './constants.js';

/** Input names of the rasteriser op, in call order (gsplat's: means, quats, scales, opacities, colours). */
export const GAUSSIAN_INPUTS = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh'] as const;
export type GaussianInput = (typeof GAUSSIAN_INPUTS)[number];

/**
 * The forward's binning (kernel.ts), extra outputs of the rasteriser op that its backward takes back as inputs so
 * that it replays the forward's tile lists instead of rebuilding them: `pre` (float32 `[N, PRE_STRIDE]`), `order`
 * (int32 `[3N + 1]`) and `keys` (int32, the tile-sorted list, and the tile ranges after it when the tile sort took
 * one pass). Empty (`[0]`) where the host kernels or the reference ran: those re-bin in the backward.
 */
export const BINNING_OUTPUTS = ['pre', 'order', 'keys'] as const;
export type BinningOutput = (typeof BINNING_OUTPUTS)[number];

/** Inputs of the host backward (host.ts): the Gaussians, the forward's packed output, and its upstream gradient. */
export const HOST_BACKWARD_INPUTS = [...GAUSSIAN_INPUTS, 'rendered', 'dy'] as const;
export type HostBackwardInput = (typeof HOST_BACKWARD_INPUTS)[number];

/** Inputs of the backward op: the host backward's, and the forward's binning. */
export const BACKWARD_INPUTS = [...HOST_BACKWARD_INPUTS, ...BINNING_OUTPUTS] as const;
export type BackwardInput = (typeof BACKWARD_INPUTS)[number];

/**
 * Everything the rasteriser op needs besides the Gaussian tensors: the camera flattened to numbers (tfjs
 * kernel attributes must be plain data), the image size and tile grid, the SH degree to evaluate, and the
 * capacity of the WebGPU path's intersection buffers.
 */
export interface RasterAttrs {
  /** World-to-camera rotation R, row-major 3×3, then translation t (12 numbers). */
  view: number[];
  /** Camera centre in world space, −Rᵀt (3 numbers): SH view directions start here. */
  center: number[];
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  width: number;
  height: number;
  /** SH degree evaluated (≤ the Gaussians'); sh's second dimension may hold more coefficients. */
  shDegree: number;
  /** Gaussian–tile intersections the WebGPU buffers hold; more marks the render as failed (NaN). */
  capacity: number;
}

/** The camera fields the rasteriser reads (`Camera` has them). */
export interface RasterCamera {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  worldToCamera: ArrayLike<number>;
}

/** Builds the op attributes; the centre is computed in float64 from the (float32) matrix. */
export function rasterAttrs(camera: RasterCamera, width: number, height: number, shDegree: number, capacity: number): RasterAttrs {
  const m = camera.worldToCamera;
  const r = (i: number, j: number): number => m[4 * i + j] as number;
  const view = [r(0, 0), r(0, 1), r(0, 2), r(1, 0), r(1, 1), r(1, 2), r(2, 0), r(2, 1), r(2, 2), r(0, 3), r(1, 3), r(2, 3)];
  const center = [0, 1, 2].map((j) => -(r(0, j) * r(0, 3) + r(1, j) * r(1, 3) + r(2, j) * r(2, 3)));
  return { view, center, fx: camera.fx, fy: camera.fy, cx: camera.cx, cy: camera.cy, width, height, shDegree, capacity };
}

/** Tiles per row and column of the image. */
export function tileGrid(attrs: RasterAttrs): { tilesX: number; tilesY: number } {
  return { tilesX: Math.ceil(attrs.width / TILE_SIZE), tilesY: Math.ceil(attrs.height / TILE_SIZE) };
}

/**
 * The Jacobian clamp limits on x/z and y/z (gsplat `persp_proj`): the image edge seen from the principal
 * point plus FOV_CLAMP_MARGIN·tan(fov/2), with tan(fov/2) = (size/2)/f. Order: [xPos, xNeg, yPos, yNeg].
 */
export function fovLimits(attrs: RasterAttrs): [number, number, number, number] {
  const f = Math.fround;
  const tanX = f(f(0.5 * attrs.width) / f(attrs.fx));
  const tanY = f(f(0.5 * attrs.height) / f(attrs.fy));
  return [
    f(f(f(attrs.width - attrs.cx) / f(attrs.fx)) + f(FOV_CLAMP_MARGIN * tanX)),
    f(f(f(attrs.cx) / f(attrs.fx)) + f(FOV_CLAMP_MARGIN * tanX)),
    f(f(f(attrs.height - attrs.cy) / f(attrs.fy)) + f(FOV_CLAMP_MARGIN * tanY)),
    f(f(f(attrs.cy) / f(attrs.fy)) + f(FOV_CLAMP_MARGIN * tanY)),
  ];
}

/** WGSL uniform fields for the camera, in the order `cameraUniforms` supplies them. */
export const CAMERA_UNIFORMS_WGSL = `
  r00 : f32, r01 : f32, r02 : f32, r10 : f32, r11 : f32, r12 : f32, r20 : f32, r21 : f32, r22 : f32,
  t0 : f32, t1 : f32, t2 : f32, camX : f32, camY : f32, camZ : f32,
  fx : f32, fy : f32, cx : f32, cy : f32, limXPos : f32, limXNeg : f32, limYPos : f32, limYNeg : f32,
  n : i32, width : i32, height : i32, tilesX : i32, tilesY : i32, shDegree : i32, shK : i32, capacity : i32,`;

/** One uniform entry per camera scalar (tensor-core's `scalarUniforms` rule), matching CAMERA_UNIFORMS_WGSL. */
export function cameraUniforms(attrs: RasterAttrs, n: number, shK: number): ProgramUniform[] {
  const { tilesX, tilesY } = tileGrid(attrs);
  const floats = [...attrs.view, ...attrs.center, attrs.fx, attrs.fy, attrs.cx, attrs.cy, ...fovLimits(attrs)];
  const ints = [n, attrs.width, attrs.height, tilesX, tilesY, attrs.shDegree, shK, attrs.capacity];
  return [
    ...floats.map((v): ProgramUniform => ({ type: 'float32', data: [v] })),
    ...ints.map((v): ProgramUniform => ({ type: 'int32', data: [v] })),
  ];
}
