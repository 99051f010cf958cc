import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

const WG = 256;
/** Longest row the program holds in workgroup memory (16 KiB). */
export const SELECT_MAX_COLS = 4096;

/**
 * The block-selection rules of SpargeAttention2 and SpargeAttn in one sort-free pass, one workgroup per
 * row of `scores [R, N]` (block probabilities, held in workgroup memory). Rank blocks by score,
 * descending, ties to the lower index: rankⱼ = #{i : sᵢ > sⱼ or (sᵢ = sⱼ and i < j)}, and the mass ranked
 * before j, Mⱼ = Σ of those sᵢ. Block j is kept when sⱼ > 0 and
 *   rankⱼ < k                 (top-k: the k highest)
 *   or Mⱼ < pBefore           (top-p: the smallest prefix whose mass reaches p, SpargeAttention2)
 *   or Mⱼ + sⱼ ≤ pThrough      (CDF threshold: the prefix whose mass stays ≤ p, SpargeAttn's searchsorted)
 * Each thread ranks N/256 blocks against the whole row: O(N²) compares per row, a few µs for N ≤ 1024,
 * with no sort and no host round trip. Output int32 `[R, N]`, 1 = kept.
 */
export class SelectProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_select_${WG}_${SELECT_MAX_COLS}`;
  variableNames = ['scores'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32, k : i32, pBefore : f32, pThrough : f32,';

  constructor(rows: number, cols: number) {
    this.outputShape = [rows * cols];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  var<workgroup> row : array<f32, ${SELECT_MAX_COLS}>;

  fn main(index : i32) {
    let r = i32(linearWorkgroupIndex());
    let tid = i32(localIndex);
    let n = uniforms.cols;
    for (var j = tid; j < n; j += ${WG}) { row[j] = scores[r * n + j]; }
    workgroupBarrier();
    for (var j = tid; j < n; j += ${WG}) {
      let s = row[j];
      var rank = 0;
      var before = 0.0;
      for (var i = 0; i < n; i++) {
        let x = row[i];
        if (x > s || (x == s && i < j)) {
          rank++;
          before += x;
        }
      }
      let keep = s > 0.0 && (rank < uniforms.k || before < uniforms.pBefore || before + s <= uniforms.pThrough);
      result[r * n + j] = select(0, 1, keep);
    }
  }
`;
  }
}
