import type { WebGPUOutputsProgram } from '@tessera/tensor-core';
import { LAYOUT_UNIFORMS, ROTARY_WGSL } from './kernel-layout.js';

/** Rows p of the state one workgroup of StepProgram updates and reads out. */
export const STEP_TILE_ROWS = 4;

/** Storage buffers StepProgram binds: twelve inputs and four outputs. */
export const STEP_BUFFERS = 16;

const WORKGROUP = 64;

/**
 * The whole decoding step in one dispatch (papers/linear_rnn.md 1.2, 1.4; `stepReference`), writing the four
 * results, each a tensor of its own:
 *   angleOut `[B·H, Nr]`:   θ = (θ_prev + π·tanh(theta)·Δ) mod 2π
 *   keyOut `[B·H, R·N]`:    k̃ = R(θ) B, pairs past Nr as they are
 *   ssmOut `[B·H, P·N]`:    S' = αS + β Σ_r v_{prev,r} k̃_{prev,r}ᵀ + γ Σ_r v_r k̃_rᵀ, α = e^{AΔ}, β = (1−λ)Δα, γ = λΔ
 *   yOut `[B·H, R·P]`:      y_r = S' q̃_r + D v_r, q̃ = R(θ) C
 * A workgroup per (b·h, tile of STEP_TILE_ROWS rows p): it updates its rows of the state (threads along (p, n), so
 * the state is read and written coalesced), then, after a storage barrier, reads them back for its rows of y
 * (nothing crosses workgroups, so one program suffices). The angles and rotated keys are recomputed where used,
 * by one function each, rather than shared through workgroup memory, whose size would bound N: the same float32
 * operations give the same bits, so the state uses exactly the keys written to keyOut. Tile 0 of each b·h also
 * writes angleOut and keyOut. Each formula is the one the former per-result programs used, in the same order.
 * Inputs: `values` (x) `[B, H, R·P]`, `dt`, `decay` (A), `trap` (λ) `[B, H]`, `keys` (B), `queries` (C)
 * `[B, H, R·N]`, `theta` `[B, H, Nr]`, `skip` (D) `[H]`, then the incoming state `ssm`, `kPrev`, `vPrev`, `angle0`.
 */
export class StepProgram implements WebGPUOutputsProgram {
  shaderKey = 'tessera_mamba3_step';
  outputNames = ['yOut', 'ssmOut', 'keyOut', 'angleOut'];
  variableNames = ['values', 'dt', 'decay', 'keys', 'queries', 'trap', 'theta', 'skip', 'ssm', 'kPrev', 'vPrev', 'angle0'];
  workgroupSize = WORKGROUP;
  workgroups: number;
  uniforms = `${LAYOUT_UNIFORMS} pTiles : i32,`;

  constructor(rows: number, headDim: number) {
    this.workgroups = rows * Math.ceil(headDim / STEP_TILE_ROWS);
  }

  getUserCode(): string {
    return `
  ${ROTARY_WGSL}
  const TILE_ROWS = ${STEP_TILE_ROWS};
  const WORKGROUP = ${WORKGROUP};

  fn newAngle(bh : i32, j : i32) -> f32 {
    let i = bh * uniforms.angles + j;
    return wrapAngle(angle0[i] + PI * safeTanh(theta[i]) * dt[bh]);
  }

  // element n of rank block r of B, turned with its pair partner by the cos c and sin s of its pair's angle
  fn turnedKey(bh : i32, r : i32, n : i32, c : f32, s : f32) -> f32 {
    let even = (bh * uniforms.rank + r) * uniforms.stateDim + n - n % 2;
    return select(keys[even] * c - keys[even + 1] * s, keys[even] * s + keys[even + 1] * c, n % 2 == 1);
  }

  // k̃ element n of rank block r: pairs past Nr stay as they are
  fn rotatedKey(bh : i32, r : i32, n : i32) -> f32 {
    if (n / 2 >= uniforms.angles) {
      return keys[(bh * uniforms.rank + r) * uniforms.stateDim + n];
    }
    let a = newAngle(bh, n / 2);
    return turnedKey(bh, r, n, cos(a), sin(a));
  }

  fn main(workgroup : i32, local : i32) {
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    if (workgroup >= uniforms.rows * uniforms.pTiles) {
      return;
    }
    let bh = workgroup / uniforms.pTiles;
    let tile = workgroup % uniforms.pTiles;
    let p0 = tile * TILE_ROWS;
    let tileRows = min(TILE_ROWS, P - p0);

    if (tile == 0) {
      for (var j = local; j < uniforms.angles; j += WORKGROUP) {
        angleOut[bh * uniforms.angles + j] = newAngle(bh, j);
      }
      for (var i = local; i < R * N; i += WORKGROUP) {
        keyOut[bh * R * N + i] = rotatedKey(bh, i / N, i % N);
      }
    }

    let d = dt[bh];
    let alpha = exp(decay[bh] * d);
    let beta = (1.0 - trap[bh]) * d * alpha;
    let gamma = trap[bh] * d;
    for (var e = local; e < tileRows * N; e += WORKGROUP) {
      let p = p0 + e / N;
      let n = e % N;
      // the pair's cos and sin once for every rank block (rotatedKey's, hoisted)
      var c = 1.0;
      var s = 0.0;
      let turned = n / 2 < uniforms.angles;
      if (turned) {
        let a = newAngle(bh, n / 2);
        c = cos(a);
        s = sin(a);
      }
      var prev = 0.0;
      var cur = 0.0;
      for (var r = 0; r < R; r++) {
        let k = select(keys[(bh * R + r) * N + n], turnedKey(bh, r, n, c, s), turned);
        prev += vPrev[(bh * R + r) * P + p] * kPrev[(bh * R + r) * N + n];
        cur += values[(bh * R + r) * P + p] * k;
      }
      let index = (bh * P + p) * N + n;
      ssmOut[index] = alpha * ssm[index] + beta * prev + gamma * cur;
    }

    // this workgroup's rows of S' are read back below
    storageBarrier();

    for (var t = local; t < R * tileRows; t += WORKGROUP) {
      let r = t / tileRows;
      let p = p0 + t % tileRows;
      let row = (bh * P + p) * N;
      let q0 = (bh * R + r) * N;
      var acc = 0.0;
      for (var j = 0; j < N / 2; j++) {
        var q = vec2<f32>(queries[q0 + 2 * j], queries[q0 + 2 * j + 1]);
        if (j < uniforms.angles) {
          q = rotateBy(q, newAngle(bh, j));
        }
        acc += ssmOut[row + 2 * j] * q.x + ssmOut[row + 2 * j + 1] * q.y;
      }
      let index = (bh * R + r) * P + p;
      yOut[index] = acc + skip[bh % uniforms.heads] * values[index];
    }
  }
`;
  }
}
