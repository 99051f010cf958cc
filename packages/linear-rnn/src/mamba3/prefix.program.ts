import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL, TILE_ROWS } from './kernel-layout.js';

/** Channels of the prefix sums one workgroup scans. */
const CHANNEL_TILE = 32;

/**
 * Chunk-local prefix sums `[B·H·L, Nr+1]`: channels j < Nr hold Σ π·tanh(theta)·Δ over the chunk up to
 * each token (the angle since the chunk start), channel Nr holds Σ AΔ (the log-decay since the chunk
 * start). Workgroup (b·h, chunk, 32-channel tile) of 256 threads: the chunk's ≤ 64 × 32 increments are
 * loaded coalesced (eight per thread), then scanned over tokens in shared memory by a Hillis–Steele scan
 * of six constant steps, instead of one thread walking 64 tokens through global memory.
 * Inputs: `theta: [B, H, L, Nr]`, `tok` (TokenProgram).
 */
export class PrefixProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_mamba3_prefix';
  variableNames = ['theta', 'tok'];
  workgroupSize: [number, number, number] = [256, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;

  constructor(rows: number, seqLen: number, chunks: number, angles: number) {
    this.outputShape = [rows * seqLen, angles + 1];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      rows * chunks * Math.ceil((angles + 1) / CHANNEL_TILE),
    ));
  }

  getUserCode(): string {
    const per = (TILE_ROWS * CHANNEL_TILE) / 256;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ROTARY_WGSL}
  // sums[t·${CHANNEL_TILE} + j]: token t, channel j of the tile
  var<workgroup> sums : array<f32, ${TILE_ROWS * CHANNEL_TILE}>;

  fn main(index : i32) {
    let channels = uniforms.angles + 1;
    let tiles = (channels + ${CHANNEL_TILE - 1}) / ${CHANNEL_TILE};
    let wg = i32(linearWorkgroupIndex());
    let jt = wg % tiles;
    let chunk = (wg / tiles) % uniforms.chunks;
    let bh = wg / (tiles * uniforms.chunks);
    let t0 = chunk * uniforms.tileTokens;
    let tokens = min(uniforms.tileTokens, uniforms.seqLen - t0);
    let tid = i32(localIndex);
    for (var k = 0; k < ${per}; k++) {
      let e = k * 256 + tid;
      let t = e / ${CHANNEL_TILE};
      let j = jt * ${CHANNEL_TILE} + e % ${CHANNEL_TILE};
      var x = 0.0;
      if (t < tokens && j < channels) {
        let row = bh * uniforms.seqLen + t0 + t;
        if (j < uniforms.angles) {
          x = PI * safeTanh(theta[row * uniforms.angles + j]) * tok[row * 4 + 3];
        } else {
          x = tok[row * 4];
        }
      }
      sums[e] = x;
    }
    workgroupBarrier();
    for (var offset = 1; offset < ${TILE_ROWS}; offset *= 2) {
      var add : array<f32, ${per}>;
      for (var k = 0; k < ${per}; k++) {
        let e = k * 256 + tid;
        // set on every path: lavapipe did not re-zero this loop-local array on each iteration
        add[k] = 0.0;
        if (e / ${CHANNEL_TILE} >= offset) {
          add[k] = sums[e - offset * ${CHANNEL_TILE}];
        }
      }
      workgroupBarrier();
      for (var k = 0; k < ${per}; k++) {
        let e = k * 256 + tid;
        sums[e] += add[k];
      }
      workgroupBarrier();
    }
    for (var k = 0; k < ${per}; k++) {
      let e = k * 256 + tid;
      let t = e / ${CHANNEL_TILE};
      let j = jt * ${CHANNEL_TILE} + e % ${CHANNEL_TILE};
      if (t < tokens && j < channels) {
        result[(bh * uniforms.seqLen + t0 + t) * channels + j] = sums[e];
      }
    }
  }
`;
  }
}
