import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

/** Threads per workgroup (one workgroup per row). */
const WORKGROUP = 256;

/**
 * Sort-free sparsemax of `z: [B, V]` in one dispatch: each workgroup owns a row, bisects the threshold
 * τ ∈ [max − 1, max] with a workgroup reduction of Σ [z − τ]₊ per step, finishes exactly on the support
 * found (τ = (Σ_{z > lo} z − 1)/|{z > lo}|) and writes `[z − τ]₊`. The row is re-read from memory
 * (L2 for decoding-sized rows) each step instead of once per tfjs op.
 */
export class SparsemaxBisectProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['z'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32,';

  constructor(
    rows: number,
    cols: number,
    private readonly iterations: number,
  ) {
    this.outputShape = [rows, cols];
    this.shaderKey = `tessera_sparsemax_bisect_${WORKGROUP}_${iterations}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  const WG = ${WORKGROUP}u;
  var<workgroup> partial : array<f32, ${WORKGROUP}>;

  fn reduceSum(v : f32) -> f32 {
    partial[localIndex] = v;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride >> 1u) {
      if (localIndex < stride) {
        partial[localIndex] = partial[localIndex] + partial[localIndex + stride];
      }
      workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
  }

  fn reduceMax(v : f32) -> f32 {
    partial[localIndex] = v;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride >> 1u) {
      if (localIndex < stride) {
        partial[localIndex] = max(partial[localIndex], partial[localIndex + stride]);
      }
      workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
  }

  fn main(index : i32) {
    let cols = uniforms.cols;
    let base = i32(linearWorkgroupIndex()) * cols;
    let first = i32(localIndex);
    let step = i32(WG);
    var top = -uniforms.INFINITY;
    for (var i = first; i < cols; i += step) {
      top = max(top, z[base + i]);
    }
    top = reduceMax(top);
    var lo = top - 1.0;
    var hi = top;
    for (var it = 0; it < ${this.iterations}; it++) {
      let mid = (lo + hi) * 0.5;
      var acc = 0.0;
      for (var i = first; i < cols; i += step) {
        acc += max(z[base + i] - mid, 0.0);
      }
      if (reduceSum(acc) >= 1.0) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    var total = 0.0;
    var count = 0.0;
    for (var i = first; i < cols; i += step) {
      let v = z[base + i];
      if (v > lo) {
        total += v;
        count += 1.0;
      }
    }
    let size = reduceSum(count);
    let tau = (reduceSum(total) - 1.0) / size;
    // an all −∞ row has an empty support: NaN, as on the other backends (WGSL's max(NaN, 0) may give 0)
    let empty = size == 0.0;
    for (var i = first; i < cols; i += step) {
      result[base + i] = select(max(z[base + i] - tau, 0.0), uniforms.NAN, empty);
    }
  }
`;
  }
}
