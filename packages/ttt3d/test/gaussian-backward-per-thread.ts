import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { PARTIAL_WIDTH } from '../src/rasterize/composite-backward.program.js';
import { chainRuleWgsl } from '../src/rasterize/gaussian-backward.program.js';
import { RASTER_CONSTANTS_WGSL } from '../src/rasterize/constants.js';
import { ORDER_WGSL } from '../src/rasterize/intersections.wgsl.js';
import { PROJECTION_WGSL } from '../src/rasterize/projection.wgsl.js';
import { CAMERA_UNIFORMS_WGSL } from '../src/rasterize/raster-attrs.js';
import { SH_BASIS_WGSL } from '../src/rasterize/sh-basis.wgsl.js';

const WORKGROUP = 128;

/** Gradient columns before the SH block: means (3), logScales (3), quaternions (4), opacity logit (1). */
const GRAD_HEAD = 11;

/**
 * The per-Gaussian backward as src/rasterize/gaussian-backward.program.ts had it before it staged its rows in
 * workgroup memory: one thread per Gaussian by index, every partial, coefficient and gradient read or written by its
 * own thread. Kept as the oracle the staged program must match bit for bit (the same sums in the same order).
 */
export class PerThreadGaussianBackwardProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_gaussian_backward_per_thread_${WORKGROUP}`;
  variableNames = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh', 'order', 'partials'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = CAMERA_UNIFORMS_WGSL;

  constructor(n: number, shK: number) {
    this.outputShape = [n, GRAD_HEAD + 3 * shK];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(n / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${RASTER_CONSTANTS_WGSL}
  ${ORDER_WGSL}
  ${PROJECTION_WGSL}
  ${SH_BASIS_WGSL}
  const NQ = ${PARTIAL_WIDTH};
  const HEAD = ${GRAD_HEAD};

  fn main(index : i32) {
    let i = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (i >= uniforms.n) { return; }
    let width = HEAD + 3 * uniforms.shK;
    let o = i * width;
    let rank = depthRank(i);
    let start = order[rank];
    let end = order[rank + 1];
    if (totalIntersections() > uniforms.capacity || start == end) {
      let fill = select(0.0, uniforms.NAN, totalIntersections() > uniforms.capacity);
      for (var c = 0; c < width; c++) { result[o + c] = fill; }
      return;
    }
    var acc = array<f32, NQ>();
    for (var j = start; j < end; j++) {
      for (var q = 0; q < NQ; q++) { acc[q] += partials[j * NQ + q]; }
    }
    ${chainRuleWgsl('shCoeff(i, k)', 'result')}
  }
`;
  }
}
