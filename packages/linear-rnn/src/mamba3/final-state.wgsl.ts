import { ROTARY_WGSL } from './kernel-layout.js';

/**
 * `writeFinalState(bh, tid, threads)`: the forward's final state of one (b, h), from the state table's last row
 * (the state and angles after the last token), thread `tid` of `threads` taking every `threads`-th element:
 *   ssmOut `[B·H, P·N]`:   the row's state,
 *   angleOut `[B·H, Nr]`:  the row's angles,
 *   keyOut `[B·H, R·N]`:   the last token's keys rotated by those angles (element n of rank block r is element n
 *                          of B at token L−1, turned with its pair partner; pairs past Nr stay as they are).
 * Shared by `ChunkOutputProgram` (with y, where the device binds its ten storage buffers) and `FinalStateProgram`
 * (alone): the same operations, so the same bits. Expects `keys` (B), `states` (the state table from
 * `uniforms.stateBase`), the three outputs and `LAYOUT_UNIFORMS`.
 */
export const FINAL_STATE_WGSL = `
  ${ROTARY_WGSL}
  fn writeFinalState(bh : i32, tid : i32, threads : i32) {
    let N = uniforms.stateDim;
    let pn = uniforms.headDim * N;
    let rn = uniforms.rank * N;
    let nr = uniforms.angles;
    let row = uniforms.stateBase + (bh * (uniforms.chunks + 1) + uniforms.chunks) * (pn + nr);
    for (var j = tid; j < pn; j += threads) {
      ssmOut[bh * pn + j] = states[row + j];
    }
    for (var j = tid; j < nr; j += threads) {
      angleOut[bh * nr + j] = states[row + pn + j];
    }
    for (var m = tid; m < rn; m += threads) {
      let n = m % N;
      let even = (bh * uniforms.seqLen + uniforms.seqLen - 1) * rn + m - n % 2;
      let first = keys[even];
      let second = keys[even + 1];
      let pair = n / 2;
      if (pair >= nr) {
        keyOut[bh * rn + m] = select(first, second, n % 2 == 1);
      } else {
        keyOut[bh * rn + m] = rotateElement(first, second, states[row + pn + pair], n % 2 == 1);
      }
    }
  }
`;
