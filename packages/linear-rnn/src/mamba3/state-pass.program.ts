import { flatGrid, type WebGPUProgram } from '@tessera/tensor-core';
import { type KernelLayout, LAYOUT_UNIFORMS, ROTARY_WGSL, stateTable } from './kernel-layout.js';

/** Chunks whose loads one thread issues together. */
const BATCH = 16;

/**
 * The state table `[B·H·(chunks + 1), P·N + Nr]` (kernel-layout.ts) from ChunkLocalProgram's output: a
 * sequential scan over chunks, one thread per (b·h, p, pair (2j, 2j+1)), which carries the pair's angle too.
 * It starts from Ŝ = S_0 + (1−λ_0)Δ_0 Σ_r v_{−1,r} k̃_{−1,r}ᵀ (the cached token's look-ahead term;
 * papers/linear_rnn.md 1.6) and θ = θ_0, or from zeros without a state (`hasState` false: the program then
 * binds only `local`); per chunk it writes the state and angle entering the chunk, then
 * Ŝ ← e^{Σ_chunk AΔ} Ŝ + R(θ) S_chunk and θ ← (θ + φ_last) mod 2π, S_chunk being in the chunk-start frame.
 * Inputs: `local` (ChunkLocalProgram), then with a state `dt`, `trap` (λ), `ssm`, `kPrev`, `vPrev`, `angle0`.
 */
export class StatePassProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = LAYOUT_UNIFORMS;
  private readonly hasState: boolean;

  constructor(k: KernelLayout, hasState: boolean) {
    this.hasState = hasState;
    this.shaderKey = `tessera_mamba3_state_pass_${hasState ? 'state' : 'zero'}`;
    this.variableNames = hasState ? ['local', 'dt', 'trap', 'ssm', 'kPrev', 'vPrev', 'angle0'] : ['local'];
    this.outputShape = [stateTable(k)];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      Math.ceil((k.rows * k.headDim * (k.stateDim / 2)) / 64),
    ));
  }

  getUserCode(): string {
    const start = this.hasState
      ? `
    let first = bh * uniforms.seqLen;
    let carry = (1.0 - trap[first]) * dt[first];
    var fold = vec2<f32>();
    for (var r = 0; r < R; r++) {
      let at = (bh * R + r) * N + n;
      fold += vPrev[(bh * R + r) * P + p] * vec2<f32>(kPrev[at], kPrev[at + 1]);
    }
    let at = bh * P * N + p * N + n;
    s = vec2<f32>(ssm[at], ssm[at + 1]) + carry * fold;
    if (rotated) {
      angle = angle0[bh * nr + j];
    }`
      : '';
    return `
  ${ROTARY_WGSL}
  fn main(index : i32) {
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    let nr = uniforms.angles;
    let pairs = N / 2;
    if (index >= uniforms.rows * P * pairs) {
      return;
    }
    let j = index % pairs;
    let p = (index / pairs) % P;
    let bh = index / (pairs * P);
    let n = 2 * j;
    let pn = P * N;
    let rowWidth = pn + nr;
    let tw = nr + 3;
    let localBase = uniforms.rows * uniforms.seqLen * tw;
    let rotated = j < nr;
    var s = vec2<f32>();
    var angle = 0.0;
    ${start}
    // loads for ${BATCH} chunks go out together (a constant-trip loop the compiler unrolls), so the scan
    // pays one memory latency per ${BATCH} chunks, not per chunk
    for (var c0 = 0; c0 < uniforms.chunks; c0 += ${BATCH}) {
      var decay : array<f32, ${BATCH}>;
      var turn : array<f32, ${BATCH}>;
      var add : array<vec2<f32>, ${BATCH}>;
      for (var u = 0; u < ${BATCH}; u++) {
        let c = c0 + u;
        decay[u] = 0.0;
        turn[u] = 0.0;
        add[u] = vec2<f32>();
        if (c < uniforms.chunks) {
          let last = min((c + 1) * uniforms.tileTokens, uniforms.seqLen) - 1;
          let token = (bh * uniforms.seqLen + last) * tw;
          decay[u] = exp(local[token + nr]);
          if (rotated) {
            turn[u] = local[token + j];
          }
          let at = localBase + (bh * uniforms.chunks + c) * pn + p * N + n;
          add[u] = vec2<f32>(local[at], local[at + 1]);
        }
      }
      for (var u = 0; u < ${BATCH}; u++) {
        let c = c0 + u;
        if (c < uniforms.chunks) {
          let row = (bh * (uniforms.chunks + 1) + c) * rowWidth;
          result[row + p * N + n] = s.x;
          result[row + p * N + n + 1] = s.y;
          var own = add[u];
          if (rotated) {
            if (p == 0) {
              result[row + pn + j] = angle;
            }
            own = rotateBy(own, angle);
            angle = wrapAngle(angle + turn[u]);
          }
          s = decay[u] * s + own;
        }
      }
    }
    let row = (bh * (uniforms.chunks + 1) + uniforms.chunks) * rowWidth;
    result[row + p * N + n] = s.x;
    result[row + p * N + n + 1] = s.y;
    if (rotated && p == 0) {
      result[row + pn + j] = angle;
    }
  }
`;
  }
}
