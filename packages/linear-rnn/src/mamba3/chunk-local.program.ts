import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { CHUNK_LOCAL_WGSL } from './chunk-local.wgsl.js';
import { type KernelLayout, LAYOUT_UNIFORMS, ROTARY_WGSL, tokenTable } from './kernel-layout.js';

/**
 * Every chunk's own state and the token table, in parallel over chunks (the forward's first program where
 * the input is long or has a state; chunk-local.wgsl.ts): the output holds the token table `[B·H·L, Nr + 3]`,
 * then the chunk-local states `[B·H·chunks, P·N]` in the frame of each chunk's start (StatePassProgram turns
 * them by the angle entering the chunk). Workgroup (b·h, chunk, 64-row P tile, 64-column N tile) of 256 threads.
 * Inputs: `values` (x), `keys` (B), `dt`, `decay` (A), `trap` (λ), `theta`.
 */
export class ChunkLocalProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_chunk_local';
  variableNames = ['values', 'keys', 'dt', 'decay', 'trap', 'theta'];
  workgroupSize: [number, number, number] = [256, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = `${LAYOUT_UNIFORMS} pTiles : i32, nTiles : i32,`;

  constructor(k: KernelLayout, pTiles: number, nTiles: number) {
    this.outputShape = [tokenTable(k) + k.rows * k.chunks * k.headDim * k.stateDim];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, k.rows * k.chunks * pTiles * nTiles));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ROTARY_WGSL}
  ${CHUNK_LOCAL_WGSL}

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let nt = wg % uniforms.nTiles;
    let pt = (wg / uniforms.nTiles) % uniforms.pTiles;
    let chunk = (wg / (uniforms.nTiles * uniforms.pTiles)) % uniforms.chunks;
    let bh = wg / (uniforms.nTiles * uniforms.pTiles * uniforms.chunks);
    let tid = i32(localIndex);
    let b = chunkLocal(bh, chunk, pt, nt, tid, loadChunk(bh, chunk, pt, nt, tid));
    let localBase = uniforms.rows * uniforms.seqLen * (uniforms.angles + 3);
    storeBlock(localBase + (bh * uniforms.chunks + chunk) * uniforms.headDim * uniforms.stateDim, pt, nt, tid, b);
  }
`;
  }
}
