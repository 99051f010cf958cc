import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { UNIFORM_LINE_WGSL } from '../block-mask/lists.wgsl.js';

const WG = 256;
/** Token loads a thread issues before it adds any: one memory latency per batch, not one per token. */
const BATCH = 8;

/**
 * Block means of q and k in one dispatch (papers/sparse.md A.1': q̄ᵢ = mean of query block i, k̄ⱼ of key
 * block j): one workgroup per block, B·H·(Nq + Nk) of them (3072 at L = 16384, 128 × 64 blocks). A block
 * is a contiguous run of tokens × D floats; thread t sums column t mod D over every G-th token (G = ⌊256/D⌋
 * lanes, 4 at D = 64), so a warp's loads cover consecutive floats of a token row (coalesced), and issues
 * its loads in batches of 8 before adding them (the flash tile loads' lesson: a loop that adds each value
 * before loading the next waits out the memory latency per token). The G lane sums of a column are then
 * added in lane order through workgroup memory and divided by the block's token count (the last block of
 * a ragged sequence is the mean of its actual tokens). Serial steps per thread: ⌈bq/(8G)⌉ load batches
 * (4 at bq = 128, D = 64), then G adds. For D > 256 a thread takes columns t, t + 256, … over every token.
 * `q [B·H, Lq, D]`, `k [B·H, Lk, D]` (flat) → float32 `[B·H·Nq·D + B·H·D·Nk]`: q̄ `[B·H, Nq, D]`, then
 * k̄ transposed, `[B·H, D, Nk]`, so that BlockScoresProgram's thread-per-key-block reads are coalesced.
 */
export class BlockPoolProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_block_pool_${WG}_${BATCH}`;
  variableNames = ['q', 'k'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'heads : i32, d : i32, lq : i32, lk : i32, bq : i32, bk : i32, nq : i32, nk : i32,';

  constructor(heads: number, d: number, nq: number, nk: number) {
    this.outputShape = [heads * (nq + nk) * d];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, heads * (nq + nk)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_LINE_WGSL}
  var<workgroup> lanes : array<f32, ${WG}>;

  fn token(isQ : bool, at : i32) -> f32 {
    if (isQ) { return q[at]; }
    return k[at];
  }

  fn main(index : i32) {
    let block = uniformLine();
    let d = uniforms.d;
    let qBlocks = uniforms.heads * uniforms.nq;
    if (block >= qBlocks + uniforms.heads * uniforms.nk) { return; }
    let isQ = block < qBlocks;
    let per = select(uniforms.nk, uniforms.nq, isQ);
    let b = select(block - qBlocks, block, isQ);
    let bh = b / per;
    let i = b % per;
    let size = select(uniforms.bk, uniforms.bq, isQ);
    let len = select(uniforms.lk, uniforms.lq, isQ);
    let first = i * size;
    let count = min(first + size, len) - first;
    let base = (bh * len + first) * d;
    let tid = i32(localIndex);
    let g = max(1, ${WG} / d);
    let lane = tid / d;
    for (var c = tid % d; c < d; c += ${WG}) {
      var s = 0.0;
      if (lane < g) {
        for (var t0 = lane; t0 < count; t0 += ${BATCH} * g) {
          var x : array<f32, ${BATCH}>;
          for (var u = 0; u < ${BATCH}; u++) { x[u] = token(isQ, base + min(t0 + u * g, count - 1) * d + c); }
          for (var u = 0; u < ${BATCH}; u++) { s += select(0.0, x[u], t0 + u * g < count); }
        }
      }
      if (g == 1) {
        // D ≥ 256: one lane, the thread's sum is the column's
        writeMean(isQ, bh, i, c, s / f32(count));
      } else {
        lanes[tid] = s;
      }
    }
    if (g == 1) { return; }
    workgroupBarrier();
    if (tid < d) {
      var s = 0.0;
      for (var l = 0; l < g; l++) { s += lanes[l * d + tid]; }
      writeMean(isQ, bh, i, tid, s / f32(count));
    }
  }

  fn writeMean(isQ : bool, bh : i32, i : i32, c : i32, mean : f32) {
    let d = uniforms.d;
    if (isQ) {
      result[(bh * uniforms.nq + i) * d + c] = mean;
    } else {
      result[uniforms.heads * uniforms.nq * d + (bh * d + c) * uniforms.nk + i] = mean;
    }
  }
`;
  }
}
