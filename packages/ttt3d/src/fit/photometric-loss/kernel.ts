import type { ProgramUniform, TensorInfo, WebGPUKernelContext } from '@tessera/tensor-core';
import type { LossGradInput, LossInput, LossWeights } from './attrs.js';
import { BlurColumnsProgram } from './blur-columns.program.js';
import { LossGradProgram } from './loss-grad.program.js';
import { LossSumProgram } from './loss-sum.program.js';
import { LossTermsProgram } from './loss-terms.program.js';
import { SsimMapsProgram } from './ssim-maps.program.js';
import { SsimStatsProgram } from './ssim-stats.program.js';

const ints = (values: number[]): ProgramUniform[] => values.map((v) => ({ type: 'int32', data: [v] }));
const floats = (values: number[]): ProgramUniform[] => values.map((v) => ({ type: 'float32', data: [v] }));

/** The blur uniforms (BLUR_UNIFORMS) of an image `[h, w, 3]`. */
function imageUniforms(shape: number[]): { n: number; uniforms: ProgramUniform[] } {
  const [h, w] = shape as [number, number];
  const n = h * w * 3;
  return { n, uniforms: ints([h, w, n]) };
}

/**
 * The loss on WebGPU: vertical statistics pass, horizontal pass with per-workgroup sums, final sum — three
 * programs (two without SSIM) where the composite runs ~40 kernels.
 */
export function photometricLossWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<LossInput, LossWeights>): TensorInfo {
  const { render, target } = inputs;
  const { n, uniforms } = imageUniforms(render.shape);
  const ssim = attrs.dssim > 0;
  const stats = ssim ? run(new SsimStatsProgram(n), [render, target], 'float32', uniforms) : undefined;
  const terms = new LossTermsProgram(n, ssim);
  const partials = run(terms, stats ? [render, target, stats] : [render, target], 'float32', uniforms);
  if (stats) dispose(stats);
  const groups = terms.outputShape[0] as number;
  const loss = run(new LossSumProgram(), [partials], 'float32', [...ints([groups]), ...floats([n, attrs.l1, attrs.dssim])]);
  dispose(partials);
  return loss;
}

/**
 * The loss' gradient w.r.t. the render on WebGPU: vertical statistics, horizontal pass to SSIM's partials,
 * their vertical blur, then the horizontal blur fused with the per-element gradient — four programs (one
 * without SSIM).
 */
export function photometricLossGradWebGPU({ inputs, attrs, run, dispose }: WebGPUKernelContext<LossGradInput, LossWeights>): TensorInfo {
  const { render, target, dy } = inputs;
  const { n, uniforms } = imageUniforms(render.shape);
  const ssim = attrs.dssim > 0;
  const scales = floats([attrs.l1 > 0 ? attrs.l1 / n : 0, attrs.dssim / n]);
  if (!ssim) return run(new LossGradProgram(render.shape, n, false), [render, target, dy], 'float32', [...uniforms, ...scales]);
  const stats = run(new SsimStatsProgram(n), [render, target], 'float32', uniforms);
  const maps = run(new SsimMapsProgram(n), [stats], 'float32', uniforms);
  dispose(stats);
  const columns = run(new BlurColumnsProgram(n), [maps], 'float32', uniforms);
  dispose(maps);
  const grad = run(new LossGradProgram(render.shape, n, true), [render, target, dy, columns], 'float32', [...uniforms, ...scales]);
  dispose(columns);
  return grad;
}
