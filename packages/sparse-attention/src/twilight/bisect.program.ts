import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { UNIFORM_LINE_WGSL } from '../block-mask/lists.wgsl.js';

const WG = 256;

/**
 * Twilight's sorting-free top-p (Lin et al. 2025; tsinghua-ideal/Twilight `TopPReturnMaskKernel`, adapted
 * from FlashInfer; papers/sparse.md B.3), one workgroup per row of non-negative weights `w [R, N]`, read from
 * global memory on every pass (a row of 4096 blocks would take the whole 16 KiB of workgroup memory WebGPU
 * guarantees; the reads hit the cache, and the reductions need only 3 KiB). Bisect a threshold: low = 0, high = max w; each pass computes f(mid) = Σ_{w > mid} w
 * and the nearest weights inside the bracket (min{w > low}, max{w ≤ high}); f(mid) ≥ p moves low to mid,
 * otherwise high to min(mid, max{w ≤ high}), keeping f(low) ≥ p > f(high), until the bracket holds one
 * weight value (within `eps`) or 64 passes. Keeps {w > low}: the smallest set of highest weights whose
 * mass reaches p, ties at the threshold kept together. (The original starts high at the attention sink's
 * weight; the row maximum is the same when the sink leads and safe when it does not.) Output int32
 * `[R, N]`, 1 = kept.
 */
export class TopPBisectProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_top_p_bisect_${WG}`;
  variableNames = ['w'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'lines : i32, cols : i32, p : f32, eps : f32,';

  constructor(rows: number, cols: number) {
    this.outputShape = [rows * cols];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_LINE_WGSL}
  const WG = ${WG};
  const BIG = 3.0e38;
  var<workgroup> sSum : array<f32, ${WG}>;
  var<workgroup> sMin : array<f32, ${WG}>;
  var<workgroup> sMax : array<f32, ${WG}>;
  // (low, high, done): written by thread 0, read uniformly by all
  var<workgroup> ctl : vec3<f32>;

  fn reduce(tid : i32) {
    for (var stride = WG / 2; stride > 0; stride = stride / 2) {
      if (tid < stride) {
        sSum[tid] += sSum[tid + stride];
        sMin[tid] = min(sMin[tid], sMin[tid + stride]);
        sMax[tid] = max(sMax[tid], sMax[tid + stride]);
      }
      workgroupBarrier();
    }
  }

  fn main(index : i32) {
    // past 65535 workgroups tfjs folds the grid into two dimensions, so some workgroups have no row
    let r = uniformLine();
    if (r >= uniforms.lines) { return; }
    let tid = i32(localIndex);
    let n = uniforms.cols;
    var m = 0.0;
    for (var j = tid; j < n; j += WG) { m = max(m, w[r * n + j]); }
    sSum[tid] = 0.0;
    sMin[tid] = BIG;
    sMax[tid] = m;
    workgroupBarrier();
    reduce(tid);
    if (tid == 0) { ctl = vec3<f32>(0.0, sMax[0], 0.0); }
    var st = workgroupUniformLoad(&ctl);
    for (var it = 0; it < 64 && st.z == 0.0; it++) {
      let low = st.x;
      let high = st.y;
      let mid = 0.5 * (low + high);
      var f = 0.0;
      var gtLow = BIG;
      var leHigh = -BIG;
      for (var j = tid; j < n; j += WG) {
        let x = w[r * n + j];
        if (x > mid) { f += x; }
        if (x > low) { gtLow = min(gtLow, x); }
        if (x <= high) { leHigh = max(leHigh, x); }
      }
      sSum[tid] = f;
      sMin[tid] = gtLow;
      sMax[tid] = leHigh;
      workgroupBarrier();
      reduce(tid);
      if (tid == 0) {
        var next = vec3<f32>(low, high, 0.0);
        if (sSum[0] >= uniforms.p) { next.x = mid; } else { next.y = min(mid, sMax[0]); }
        if (sMax[0] - sMin[0] <= uniforms.eps) { next.z = 1.0; }
        ctl = next;
      }
      st = workgroupUniformLoad(&ctl);
    }
    for (var j = tid; j < n; j += WG) { result[r * n + j] = select(0, 1, w[r * n + j] > st.x); }
  }
`;
  }
}
