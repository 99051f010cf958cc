import type { TensorInfo, WebGPUKernelContext } from '@tessera/tensor-core';
import { binGaussians, disposeBinning } from './binning.js';
import { CompositeBackwardProgram } from './composite-backward.program.js';
import type { GaussianInput } from './forward-kernel.js';
import { GaussianBackwardProgram } from './gaussian-backward.program.js';
import { cameraUniforms, type RasterAttrs, tileGrid } from './raster-attrs.js';

/** Inputs of the backward op: the Gaussians, the forward's packed output, and its upstream gradient. */
export type BackwardInput = GaussianInput | 'rendered' | 'dy';
export const BACKWARD_INPUTS = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh', 'rendered', 'dy'] as const;

/**
 * The WebGPU backward: rebuild the forward's tile lists (deterministic, so identical), replay every pixel to
 * get per-intersection partial gradients, then reduce them per Gaussian and chain them back to the inputs.
 * Returns `[N, 11 + 3K]`: ∂means (3), ∂logScales (3), ∂quaternions (4), ∂opacityLogits (1), ∂sh (3K).
 */
export function rasterizeBackwardWebGPU(ctx: WebGPUKernelContext<BackwardInput, RasterAttrs>): TensorInfo {
  const { inputs, attrs } = ctx;
  const { tilesX, tilesY } = tileGrid(attrs);
  const n = inputs.means.shape[0] as number;
  const shK = inputs.sh.shape[1] as number;
  const binning = binGaussians(ctx, inputs, attrs);
  const partials = ctx.run(
    new CompositeBackwardProgram(attrs.capacity, tilesX * tilesY),
    [binning.pre, binning.keys, binning.ranges, binning.offsets, inputs.rendered, inputs.dy],
    'float32',
    [n, attrs.capacity, attrs.width, attrs.height, tilesX].map((v) => ({ type: 'int32' as const, data: [v] })),
  );
  const grads = ctx.run(
    new GaussianBackwardProgram(n, shK),
    [inputs.means, inputs.logScales, inputs.quaternions, inputs.opacityLogits, inputs.sh, binning.offsets, partials],
    'float32',
    cameraUniforms(attrs, n, shK),
  );
  ctx.dispose(partials);
  disposeBinning(ctx, binning);
  return grads;
}
