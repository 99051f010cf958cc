import { flatGrid, LINEAR_WORKGROUP_INDEX, ONLINE_SOFTMAX_WGSL, SOFTMAX_WORKGROUP, type WebGPUProgram } from '@tessera/tensor-core';
import { NON_FINITE_FLAGS_WGSL, POSITIVE_INFINITY_WGSL } from '../non-finite.wgsl.js';
import { RADIX_SELECT_WGSL } from './radix-select.wgsl.js';

/**
 * Per-chunk record of the fused top-r pass 1, `4 + J + 2r` floats: the chunk's online-softmax state
 * (max, Σ exp) of x/T, its r-th largest logit t_c, the number n of listed pairs, the J power sums, then n
 * (value, count) pairs. A chunk holding a NaN writes the state (+∞, −1), one holding m tokens at +∞
 * (x/T, and no NaN) writes (+∞, m) — states no finite chunk has — and the rest of its record is unused.
 */
export function chunkRecordWidth(steps: number, r: number): number {
  return 4 + steps + 2 * r;
}

/**
 * Pass 1 of the fused 'uniform-top-r' Best-of-K (the only full read besides the write): workgroup
 * (row, chunk) holds its `chunk` logits of `x: [B, V]` in registers (padding is −∞) and, without another
 * read,
 * - accumulates the online-softmax statistics of x/T;
 * - finds the chunk's r-th largest logit t_c by radix select (first among the thread maxima, for a
 *   bound that filters the rest) and lists the chunk's candidates for the row's weighted set R: each
 *   value above t_c, and t_c with its multiplicity (−∞ never listed). The row's r-th largest x_r is at
 *   least every t_c, so every token of R = {x ≥ x_r} is listed;
 * - sums, over the tokens below t_c (none of them in R), exp(a_m·(x − t_c)/T) for m = 1..J with
 *   a₀ = 1, a_{m+1} = (1 − ηλ)a_m + η(1 + λ): the mass of the steps' affine part off R (see
 *   `bokTopROp`). With ηλ ≤ 1 every a_m > 0, so the terms lie in (0, 1] and cannot overflow.
 * Output `[B, chunks·(4 + J + 2r)]` (`chunkRecordWidth`). `chunk` is compiled in, so the chunk stays in registers.
 */
export class TopRChunkProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [SOFTMAX_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32, chunks : i32, r : i32, steps : i32, recordWidth : i32, invT : f32, decay : f32, gain : f32,';
  private readonly chunk: number;

  constructor(rows: number, chunk: number, chunks: number, steps: number, r: number) {
    this.outputShape = [rows, chunks * chunkRecordWidth(steps, r)];
    this.chunk = chunk;
    this.shaderKey = `tessera_bok_top_r_chunk_${chunk}_${SOFTMAX_WORKGROUP}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * chunks));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ONLINE_SOFTMAX_WGSL}
  ${RADIX_SELECT_WGSL}
  ${POSITIVE_INFINITY_WGSL}
  ${NON_FINITE_FLAGS_WGSL}
  const PER = ${this.chunk / SOFTMAX_WORKGROUP};
  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let row = wg / uniforms.chunks;
    let start = (wg % uniforms.chunks) * ${this.chunk};
    let base = row * uniforms.cols;
    var values : array<f32, PER>;
    clearNonFinite();
    var st = vec2<f32>(-uniforms.INFINITY, 0.0);
    var nan = 0u;
    var inf = 0u;
    for (var e = 0; e < PER; e++) {
      let i = start + e * WG + i32(localIndex);
      var v = -uniforms.INFINITY;
      if (i < uniforms.cols) {
        v = x[base + i];
      }
      values[e] = v;
      let z = v * uniforms.invT;
      if (isnan(v)) {
        nan = 1u;
      } else if (isPositiveInfinity(z)) {
        inf += 1u;
      } else {
        st = pushValue(st, z);
      }
    }
    addNonFinite(nan, inf);
    var high = array<u32, 4>(0u, 0xff000000u, 0xffff0000u, 0xffffff00u);
    // Stage 0 selects the r-th largest of the 256 thread maxima, a lower bound of t_c (they are r distinct
    // logits of the chunk); stage 1 selects t_c among the logits at or above that bound only. Histogramming
    // every logit would pile thousands of atomics onto the few bins that the logits' shared sign and
    // exponent bits hit.
    var threadMax = values[0];
    for (var e = 1; e < PER; e++) {
      threadMax = max(threadMax, values[e]);
    }
    var bound = -uniforms.INFINITY;
    var prefix = 0u;
    for (var stage = 0u; stage < 2u; stage++) {
      prefix = 0u;
      var remaining = u32(uniforms.r);
      for (var digitPass = 0u; digitPass < 4u; digitPass++) {
        let shift = 24u - 8u * digitPass;
        let mask = high[digitPass];
        atomicStore(&hist[localIndex], 0u);
        workgroupBarrier();
        for (var e = 0; e < PER; e++) {
          let v = select(values[e], threadMax, stage == 0u);
          let key = toKey(v);
          if ((key & mask) == prefix && select(v >= bound, e == 0, stage == 0u)) {
            atomicAdd(&hist[(key >> shift) & 255u], 1u);
          }
        }
        workgroupBarrier();
        chooseDigit(remaining);
        prefix = prefix | (chosenDigit << shift);
        remaining = chosenRemaining;
      }
      bound = fromKey(prefix);
    }
    let threshold = fromKey(prefix);
    if (localIndex == 0u) {
      atomicStore(&listSize, 0u);
      atomicStore(&tieCount, 0u);
    }
    workgroupBarrier();
    for (var e = 0; e < PER; e++) {
      let v = values[e];
      if (v > threshold) {
        append(v, 1.0);
      } else if (v == threshold && v != -uniforms.INFINITY) {
        atomicAdd(&tieCount, 1u);
      }
    }
    workgroupBarrier();
    if (localIndex == 0u) {
      let ties = atomicLoad(&tieCount);
      if (ties > 0u) {
        append(threshold, f32(ties));
      }
    }
    st = reduceWorkgroup(st);
    let out = wg * uniforms.recordWidth;
    // one power sum at a time, so J need not be compiled in (a shader per J would cost a compile each)
    var a = 1.0;
    for (var m = 0; m < uniforms.steps; m++) {
      a = uniforms.decay * a + uniforms.gain;
      var s = 0.0;
      for (var e = 0; e < PER; e++) {
        let v = values[e];
        if (v < threshold) {
          s += exp(a * ((v - threshold) * uniforms.invT));
        }
      }
      // equal shifts make reduceWorkgroup's online combination a plain sum
      let total = reduceWorkgroup(vec2<f32>(0.0, s));
      if (localIndex == 0u) {
        result[out + 4 + m] = total.y;
      }
    }
    // at most r − 1 values exceed t_c, plus t_c itself; the clamp only guards the record against NaN keys
    let n = min(atomicLoad(&listSize), u32(uniforms.r));
    let flags = nonFinite();
    if (flags.x != 0u) {
      st = vec2<f32>(uniforms.INFINITY, -1.0);
    } else if (flags.y != 0u) {
      st = vec2<f32>(uniforms.INFINITY, f32(flags.y));
    }
    if (localIndex == 0u) {
      result[out] = st.x;
      result[out + 1] = st.y;
      result[out + 2] = threshold;
      result[out + 3] = f32(n);
    }
    if (localIndex < n) {
      let slot = out + 4 + uniforms.steps + 2 * i32(localIndex);
      result[slot] = listValue[localIndex];
      result[slot + 1] = listCount[localIndex];
    }
  }
`;
  }
}
