import { flatGrid, LINEAR_WORKGROUP_INDEX, ONLINE_SOFTMAX_WGSL, SOFTMAX_WORKGROUP, type WebGPUProgram } from '@tessera/tensor-core';
import { NON_FINITE_FLAGS_WGSL, POSITIVE_INFINITY_WGSL } from '../non-finite.wgsl.js';
import { MIRROR_STEP_WGSL } from './mirror-step.wgsl.js';
import { RADIX_SELECT_WGSL } from './radix-select.wgsl.js';

/** Per-row layout of the solved scalars `[B, 3 + J]`: log-sum-exp of x/T, x_r, d_J, then log Z₀…log Z_{J−1}. */
function solvedWidth(steps: number): number {
  return 3 + steps;
}

/**
 * Pass 2 of the fused 'uniform-top-r' Best-of-K, one workgroup per row, reading only the chunk records
 * `records: [B, chunks·(4 + J + 2r)]` of `TopRChunkProgram`:
 * - log-sum-exp of x/T from the chunks' online-softmax states;
 * - the row's r-th largest logit x_r, by a radix select over the listed candidates weighted by their
 *   counts (−∞ when fewer than r tokens are unmasked), and the weighted set R = {x ≥ x_r} as ≤ r
 *   (value, count) pairs;
 * - the off-R power sums S_m = Σ_{v∉R} exp(a_m (x − x_r)/T): the chunks' sums rescaled from t_c to x_r
 *   plus the listed candidates below x_r;
 * - the J mirror steps on R alone, thread t following pair t: y = mirrorStep(log q_j, log p) and
 *   log Z_j = logsumexp(y + log count over R, log S_{j+1} + e_j) with e_j = (1 − ηλ)d_j + η(1 + λ) log p(x_r),
 *   then log q_{j+1} = y − log Z_j on R and d_{j+1} = e_j − log Z_j off it (d₀ = log p(x_r)), since off R
 *   log q_j = a_j (x − x_r)/T + d_j. That is logSoftmax(y) of Algorithm 1 without the V − |R| other tokens.
 * Output `[B, 3 + J]` (`solvedWidth`). A row whose chunks report a NaN writes (log-sum-exp, d) =
 * (+∞, −1), one whose chunks report m tokens at +∞ writes (+∞, m): `TopRWriteProgram` then writes a NaN
 * row, or 1/m on the +∞ tokens (the limit, where every weighted token is alike).
 */
export class TopRMergeProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_bok_top_r_merge_${SOFTMAX_WORKGROUP}`;
  variableNames = ['records'];
  workgroupSize: [number, number, number] = [SOFTMAX_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms =
    'chunks : i32, r : i32, steps : i32, recordWidth : i32, invT : f32, lambda : f32, eta : f32, coverage : f32, kMinus1 : f32, decay : f32, gain : f32,';

  constructor(rows: number, steps: number) {
    this.outputShape = [rows, solvedWidth(steps)];

    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ONLINE_SOFTMAX_WGSL}
  ${RADIX_SELECT_WGSL}
  ${MIRROR_STEP_WGSL}
  ${POSITIVE_INFINITY_WGSL}
  ${NON_FINITE_FLAGS_WGSL}

  fn recordStart(row : i32, c : i32) -> i32 {
    return (row * uniforms.chunks + c) * uniforms.recordWidth;
  }

  fn main(index : i32) {
    let row = i32(linearWorkgroupIndex());
    let t = i32(localIndex);
    let chunks = uniforms.chunks;
    let r = uniforms.r;
    let steps = uniforms.steps;
    clearNonFinite();
    var st = vec2<f32>(-uniforms.INFINITY, 0.0);
    var nan = 0u;
    var inf = 0u;
    for (var c = t; c < chunks; c += WG) {
      let rs = recordStart(row, c);
      let chunkState = vec2<f32>(records[rs], records[rs + 1]);
      if (isPositiveInfinity(chunkState.x)) {
        if (chunkState.y < 0.0) {
          nan = 1u;
        } else {
          inf += u32(chunkState.y);
        }
      } else {
        st = combine(st, chunkState);
      }
    }
    addNonFinite(nan, inf);
    st = reduceWorkgroup(st);
    let flags = nonFinite();
    let lse = st.x + log(st.y);

    // candidate e = pair e % r of chunk e / r; pairs past the chunk's count are unused
    let entries = chunks * r;
    var high = array<u32, 4>(0u, 0xff000000u, 0xffff0000u, 0xffffff00u);
    var prefix = 0u;
    var remaining = u32(r);
    var tooFew = 0u;
    for (var digitPass = 0u; digitPass < 4u; digitPass++) {
      let shift = 24u - 8u * digitPass;
      let mask = high[digitPass];
      atomicStore(&hist[localIndex], 0u);
      workgroupBarrier();
      for (var e = t; e < entries; e += WG) {
        let rs = recordStart(row, e / r);
        let slot = e % r;
        if (slot < i32(records[rs + 3])) {
          let key = toKey(records[rs + 4 + steps + 2 * slot]);
          if ((key & mask) == prefix) {
            atomicAdd(&hist[(key >> shift) & 255u], u32(records[rs + 5 + steps + 2 * slot]));
          }
        }
      }
      workgroupBarrier();
      chooseDigit(remaining);
      if (digitPass == 0u) {
        tooFew = selectShort;
      }
      prefix = prefix | (chosenDigit << shift);
      remaining = chosenRemaining;
    }
    var threshold = fromKey(prefix);
    if (tooFew == 1u) {
      threshold = -uniforms.INFINITY;
    }

    if (t == 0) {
      atomicStore(&listSize, 0u);
      atomicStore(&tieCount, 0u);
    }
    workgroupBarrier();
    for (var e = t; e < entries; e += WG) {
      let rs = recordStart(row, e / r);
      let slot = e % r;
      if (slot < i32(records[rs + 3])) {
        let v = records[rs + 4 + steps + 2 * slot];
        if (v > threshold) {
          append(v, records[rs + 5 + steps + 2 * slot]);
        } else if (v == threshold) {
          atomicAdd(&tieCount, u32(records[rs + 5 + steps + 2 * slot]));
        }
      }
    }
    workgroupBarrier();
    if (t == 0) {
      let ties = atomicLoad(&tieCount);
      if (ties > 0u) {
        append(threshold, f32(ties));
      }
    }
    workgroupBarrier();
    let inR = t < i32(min(atomicLoad(&listSize), u32(r)));
    var lp = 0.0;
    var logCount = 0.0;
    if (inR) {
      lp = listValue[t] * uniforms.invT - lse;
      logCount = log(listCount[t]);
    }
    let lpThreshold = threshold * uniforms.invT - lse;
    var lq = lp;
    var d = lpThreshold;
    let out = row * (steps + 3);
    var a = 1.0;
    for (var j = 0; j < steps; j++) {
      // S_{j+1}: listed candidates below x_r, and the chunks' sums rescaled from t_c to x_r
      a = uniforms.decay * a + uniforms.gain;
      var s = 0.0;
      for (var e = t; e < entries; e += WG) {
        let rs = recordStart(row, e / r);
        let slot = e % r;
        if (slot < i32(records[rs + 3])) {
          let v = records[rs + 4 + steps + 2 * slot];
          if (v < threshold) {
            s += records[rs + 5 + steps + 2 * slot] * exp(a * ((v - threshold) * uniforms.invT));
          }
        }
      }
      for (var c = t; c < chunks; c += WG) {
        let rs = recordStart(row, c);
        let chunkSum = records[rs + 4 + j];
        if (chunkSum > 0.0) {
          s += chunkSum * exp(a * ((records[rs + 2] - threshold) * uniforms.invT));
        }
      }
      // equal shifts make reduceWorkgroup's online combination a plain sum
      let offR = reduceWorkgroup(vec2<f32>(0.0, s)).y;
      let y = mirrorStep(lq, lp);
      var z = vec2<f32>(-uniforms.INFINITY, 0.0);
      if (inR) {
        z = vec2<f32>(y + logCount, 1.0);
      }
      z = reduceWorkgroup(z);
      var logZ = z.x + log(z.y);
      let shifted = uniforms.decay * d + uniforms.gain * lpThreshold;
      if (offR > 0.0) {
        let tail = log(offR) + shifted;
        let m = max(logZ, tail);
        logZ = m + log(exp(logZ - m) + exp(tail - m));
      }
      d = shifted - logZ;
      lq = y - logZ;
      if (t == 0) {
        result[out + 3 + j] = logZ;
      }
    }
    if (t == 0) {
      result[out] = lse;
      result[out + 1] = threshold;
      result[out + 2] = d;
      if (flags.x != 0u) {
        result[out] = uniforms.INFINITY;
        result[out + 2] = -1.0;
      } else if (flags.y != 0u) {
        result[out] = uniforms.INFINITY;
        result[out + 2] = f32(flags.y);
      }
    }
  }
`;
  }
}
