import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { PARAM, PARAMS } from '../fused/keys.wgsl.js';
import type { WeightSource } from '../sample/weight-source.js';

/** Threads per workgroup of the write pass, one token each. */
const WORKGROUP = 256;

/**
 * The write pass of the truncated softmax (`truncatedSoftmaxOp`, WebGPU): q = w / M on the kept set, 0
 * elsewhere, NaN on a row without a distribution — w = exp(z − max) inside the row's cut and M the kept
 * mass, both from the 'cut' flavour of the fused sampler's `SelectProgram` or from the radix select's
 * `RadixCutProgram` (`params: [B, 8]`, the same format); `source`
 * is the fused sampler's own `keptLogitWeights` (pMin 0), so both read a token's weight identically.
 * Split over the whole `[B, V]` (one token per thread), unlike the selection's one workgroup per row.
 */
export class TruncatedSoftmaxProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms: string;
  size = true;

  constructor(
    rows: number,
    cols: number,
    private readonly source: WeightSource,
  ) {
    this.outputShape = [rows, cols];
    this.shaderKey = `tessera_truncated_softmax_${WORKGROUP}_${source.key}`;
    this.variableNames = [...source.variableNames];
    this.uniforms = `cols : i32, ${source.uniforms}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((rows * cols) / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${this.source.wgsl}
  fn main(index : i32) {
    let flat = i32(linearWorkgroupIndex() * ${WORKGROUP}u + localIndex);
    if (flat >= uniforms.size) {
      return;
    }
    let row = flat / uniforms.cols;
    let pb = row * ${PARAMS};
    if (params[pb + ${PARAM.status}] != 0) {
      result[flat] = uniforms.NAN;
      return;
    }
    let mass = bitcast<f32>(params[pb + ${PARAM.mass}]);
    result[flat] = weight(row, flat - row * uniforms.cols) * (1.0 / mass);
  }
`;
  }
}
