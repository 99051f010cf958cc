import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { PRE_LAYOUT_WGSL } from './projection.wgsl.js';

/** Gaussians per workgroup, and the parts each one's comparisons are split into (GROUP · PARTS = 256 threads). */
const GROUP = 32;
const PARTS = 8;

/**
 * The depth order of a small scene in one dispatch (intersections.wgsl.ts `order`), by counting instead of
 * sorting: Gaussian g's rank is the number of Gaussians h with (depth bits, index) of h below g's, and its first
 * list entry the sum of their tile counts — the result of a stable sort by depth followed by an exclusive scan of
 * the counts in that order, at O(N²) comparisons, which replaces 4 radix passes and a scan (≥ 10 dispatches) while
 * N is small (radix-sort.ts `BINNING_LIMITS.rankSortMax`). Positive float depths compare as unsigned integers.
 * The PARTS threads of a Gaussian split the N comparisons and sum their counts in workgroup memory; the 32 lanes
 * of a part read the same h, so the reads are broadcasts.
 */
export class DepthRankProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_depth_rank_${GROUP}_${PARTS}`;
  variableNames = ['pre'];
  workgroupSize: [number, number, number] = [GROUP * PARTS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'n : i32,';

  constructor(n: number) {
    this.outputShape = [3 * n + 1];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(n / GROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${PRE_LAYOUT_WGSL}
  const GROUP = ${GROUP};
  const PARTS = ${PARTS};
  var<workgroup> partRank : array<i32, ${GROUP * PARTS}>;
  var<workgroup> partStart : array<i32, ${GROUP * PARTS}>;

  fn depthKey(g : i32) -> u32 {
    return bitcast<u32>(pre[g * PRE_STRIDE + PRE_DEPTH]);
  }

  fn main(index : i32) {
    let t = i32(localIndex);
    let lane = t % GROUP;
    let part = t / GROUP;
    let n = uniforms.n;
    let g = i32(linearWorkgroupIndex()) * GROUP + lane;
    var key = 0u;
    if (g < n) { key = depthKey(g); }
    let chunk = (n + PARTS - 1) / PARTS;
    let hEnd = min(n, (part + 1) * chunk);
    var rank = 0;
    var start = 0;
    for (var h = part * chunk; h < hEnd; h++) {
      let k = depthKey(h);
      let before = k < key || (k == key && h < g);
      rank += select(0, 1, before);
      start += select(0, i32(pre[h * PRE_STRIDE + PRE_COUNT]), before);
    }
    partRank[t] = rank;
    partStart[t] = start;
    workgroupBarrier();
    if (part != 0 || g >= n) { return; }
    for (var p = 1; p < PARTS; p++) {
      rank += partRank[p * GROUP + lane];
      start += partStart[p * GROUP + lane];
    }
    result[rank] = start;
    result[n + 1 + rank] = g;
    result[2 * n + 1 + g] = rank;
    // the last in depth order closes the list: order[N] = total
    if (rank == n - 1) { result[n] = start + i32(pre[g * PRE_STRIDE + PRE_COUNT]); }
  }
`;
  }
}
