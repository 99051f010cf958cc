import type { TensorInfo, WebGPUKernelContext } from '@tessera/tensor-core';
import { binGaussians, disposeBinning, type GaussianInfos } from './binning.js';
import { CompositeProgram } from './composite.program.js';
import { type RasterAttrs, tileGrid } from './raster-attrs.js';

/** Input names of the rasteriser op, in call order. */
export const GAUSSIAN_INPUTS = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh'] as const;
export type GaussianInput = (typeof GAUSSIAN_INPUTS)[number];

/** The WebGPU forward: bin the Gaussians into depth-sorted tile lists, then composite each tile. `[h, w, 5]`. */
export function rasterizeWebGPU(ctx: WebGPUKernelContext<GaussianInput, RasterAttrs>): TensorInfo {
  const { inputs, attrs } = ctx;
  const g: GaussianInfos = inputs;
  const { tilesX, tilesY } = tileGrid(attrs);
  const binning = binGaussians(ctx, g, attrs);
  const n = g.means.shape[0] as number;
  const out = ctx.run(
    new CompositeProgram(attrs.height, attrs.width, tilesX * tilesY),
    [binning.pre, binning.keys, binning.ranges, binning.offsets],
    'float32',
    [n, attrs.capacity, attrs.width, attrs.height, tilesX].map((v) => ({ type: 'int32' as const, data: [v] })),
  );
  disposeBinning(ctx, binning);
  return out;
}
