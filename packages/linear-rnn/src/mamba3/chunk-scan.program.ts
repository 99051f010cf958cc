import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { CHUNK_LOCAL_WGSL, TILE_PAIRS } from './chunk-local.wgsl.js';
import { type KernelLayout, LAYOUT_UNIFORMS, ROTARY_WGSL, stateTable, tokenTable } from './kernel-layout.js';

/**
 * The token table and the state table of a forward from a zero state in one program (short inputs; see
 * SCAN_MAX_CHUNKS): a workgroup per (b·h, 64-row P tile, 64-column N tile) walks the chunks in order, keeping
 * its tile of the state in registers. Per chunk it writes the state and angles entering the chunk, computes the
 * chunk's own state in the chunk-start frame (chunk-local.wgsl.ts), turns it by the entering angles (a rotation
 * of column pairs) and folds it in: S ← e^{Σ_chunk AΔ} S + R(θ_c) S_chunk, θ ← (θ + φ_last) mod 2π — the same
 * update, in the same order, as StatePassProgram. The walk is bound by latency (one workgroup per tile, chunk
 * after chunk), so the next chunk's global loads go out before this chunk's arithmetic. The output holds the
 * token table `[B·H·L, Nr + 3]`, then the state table `[B·H·(chunks + 1), P·N + Nr]` (kernel-layout.ts). Only
 * a zero initial state: the four state tensors would take the program past WebGPU's eight storage buffers per
 * stage.
 * Inputs: `values` (x), `keys` (B), `dt`, `decay` (A), `trap` (λ), `theta`.
 */
export class ChunkScanProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_chunk_scan';
  variableNames = ['values', 'keys', 'dt', 'decay', 'trap', 'theta'];
  workgroupSize: [number, number, number] = [256, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = `${LAYOUT_UNIFORMS} pTiles : i32, nTiles : i32,`;

  constructor(k: KernelLayout, pTiles: number, nTiles: number) {
    this.outputShape = [tokenTable(k) + stateTable(k)];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, k.rows * pTiles * nTiles));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ROTARY_WGSL}
  ${CHUNK_LOCAL_WGSL}

  // the columns (n, n+1) and (n+2, n+3) of a row of the block, each pair turned by its own angle
  fn rotateColumns(a : vec4<f32>, first : vec2<f32>, second : vec2<f32>) -> vec4<f32> {
    return vec4<f32>(
      a.x * first.x - a.y * first.y,
      a.x * first.y + a.y * first.x,
      a.z * second.x - a.w * second.y,
      a.z * second.y + a.w * second.x,
    );
  }

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let nt = wg % uniforms.nTiles;
    let pt = (wg / uniforms.nTiles) % uniforms.pTiles;
    let bh = wg / (uniforms.nTiles * uniforms.pTiles);
    let tid = i32(localIndex);
    let nr = uniforms.angles;
    let pn = uniforms.headDim * uniforms.stateDim;
    let rowWidth = pn + nr;
    let stateBase = uniforms.rows * uniforms.seqLen * (nr + 3);
    // this thread's columns hold the pairs j and j + 1 (local channels jl, jl + 1 of the tile)
    let jl = (tid % 16) * 2;
    let j = nt * ${TILE_PAIRS} + jl;
    // one thread per pair writes the angles: the first row group of the first P tile
    let writesAngles = pt == 0 && tid < 16;
    var s : Block;
    // the next chunk's loads, issued before this chunk's arithmetic so that the walk does not wait on memory each chunk
    var next = loadChunk(bh, 0, pt, nt, tid);
    var first = 0.0;
    var second = 0.0;
    for (var c = 0; c <= uniforms.chunks; c++) {
      let row = stateBase + (bh * (uniforms.chunks + 1) + c) * rowWidth;
      storeBlock(row, pt, nt, tid, s);
      if (writesAngles) {
        if (j < nr) {
          result[row + pn + j] = first;
        }
        if (j + 1 < nr) {
          result[row + pn + j + 1] = second;
        }
      }
      if (c == uniforms.chunks) {
        break;
      }
      let loads = next;
      if (c + 1 < uniforms.chunks) {
        next = loadChunk(bh, c + 1, pt, nt, tid);
      }
      let own = chunkLocal(bh, c, pt, nt, tid, loads);
      let last = min(uniforms.tileTokens, uniforms.seqLen - c * uniforms.tileTokens) - 1;
      let chunkDecay = exp(csS[last]);
      var turnFirst = vec2<f32>(1.0, 0.0);
      var turnSecond = vec2<f32>(1.0, 0.0);
      if (j < nr) {
        turnFirst = vec2<f32>(cos(first), sin(first));
        first = wrapAngle(first + angS[last * ${TILE_PAIRS} + jl]);
      }
      if (j + 1 < nr) {
        turnSecond = vec2<f32>(cos(second), sin(second));
        second = wrapAngle(second + angS[last * ${TILE_PAIRS} + jl + 1]);
      }
      s.r0 = chunkDecay * s.r0 + rotateColumns(own.r0, turnFirst, turnSecond);
      s.r1 = chunkDecay * s.r1 + rotateColumns(own.r1, turnFirst, turnSecond);
      s.r2 = chunkDecay * s.r2 + rotateColumns(own.r2, turnFirst, turnSecond);
      s.r3 = chunkDecay * s.r3 + rotateColumns(own.r3, turnFirst, turnSecond);
    }
  }
`;
  }
}
