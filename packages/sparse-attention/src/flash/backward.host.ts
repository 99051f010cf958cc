import type { HostTensor } from '@tessera/tensor-core';
import type { FlashBackwardInput } from './kernel.js';
import { KeyRanges } from './key-ranges.host.js';
import type { FlashAttrs } from './reference.js';

/** Per-call scratch of the row kernel: one query row's q, dO and dQ accumulator, float64. */
interface RowScratch {
  qRow: Float64Array;
  dORow: Float64Array;
  dqRow: Float64Array;
}

/**
 * One query row's share of the gradients over `len` consecutive keys from `kvOff` (FlashAttention-2's
 * backward, Alg. 2, one row at a time): P = exp(scale·q·kⱼ − lse), dS = P ⊙ (dO·vⱼ − δ) with
 * δ = rowsum(dO ⊙ O) − dLse; dQ += scale·dS·K into `dqRow`, dK += scale·dS·q and dV += P·dO into the
 * head's float64 accumulators (the chunk's key j at `accOff + j·D`). Four keys per pass share the row
 * loads and give eight independent add chains.
 */
function backwardChunk(
  k: Float32Array,
  v: Float32Array,
  kvOff: number,
  accOff: number,
  d: number,
  len: number,
  scale: number,
  lse: number,
  delta: number,
  scratch: RowScratch,
  dk: Float64Array,
  dv: Float64Array,
): void {
  const { qRow, dORow, dqRow } = scratch;
  // from a key's offset in k and v to its offset in the accumulators
  const shift = accOff - kvOff;
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const o0 = kvOff + j * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let g0 = 0;
    let g1 = 0;
    let g2 = 0;
    let g3 = 0;
    for (let x = 0; x < d; x++) {
      const qx = qRow[x] as number;
      const gx = dORow[x] as number;
      s0 += qx * (k[o0 + x] as number);
      s1 += qx * (k[o1 + x] as number);
      s2 += qx * (k[o2 + x] as number);
      s3 += qx * (k[o3 + x] as number);
      g0 += gx * (v[o0 + x] as number);
      g1 += gx * (v[o1 + x] as number);
      g2 += gx * (v[o2 + x] as number);
      g3 += gx * (v[o3 + x] as number);
    }
    const p0 = Math.exp(s0 * scale - lse);
    const p1 = Math.exp(s1 * scale - lse);
    const p2 = Math.exp(s2 * scale - lse);
    const p3 = Math.exp(s3 * scale - lse);
    const c0 = p0 * (g0 - delta) * scale;
    const c1 = p1 * (g1 - delta) * scale;
    const c2 = p2 * (g2 - delta) * scale;
    const c3 = p3 * (g3 - delta) * scale;
    for (let x = 0; x < d; x++) {
      const qx = qRow[x] as number;
      const gx = dORow[x] as number;
      dqRow[x] =
        (dqRow[x] as number) +
        c0 * (k[o0 + x] as number) +
        c1 * (k[o1 + x] as number) +
        c2 * (k[o2 + x] as number) +
        c3 * (k[o3 + x] as number);
      dk[o0 + shift + x] = (dk[o0 + shift + x] as number) + c0 * qx;
      dk[o1 + shift + x] = (dk[o1 + shift + x] as number) + c1 * qx;
      dk[o2 + shift + x] = (dk[o2 + shift + x] as number) + c2 * qx;
      dk[o3 + shift + x] = (dk[o3 + shift + x] as number) + c3 * qx;
      dv[o0 + shift + x] = (dv[o0 + shift + x] as number) + p0 * gx;
      dv[o1 + shift + x] = (dv[o1 + shift + x] as number) + p1 * gx;
      dv[o2 + shift + x] = (dv[o2 + shift + x] as number) + p2 * gx;
      dv[o3 + shift + x] = (dv[o3 + shift + x] as number) + p3 * gx;
    }
  }
  for (; j < len; j++) {
    const o0 = kvOff + j * d;
    let s = 0;
    let g = 0;
    for (let x = 0; x < d; x++) {
      s += (qRow[x] as number) * (k[o0 + x] as number);
      g += (dORow[x] as number) * (v[o0 + x] as number);
    }
    const p = Math.exp(s * scale - lse);
    const c = p * (g - delta) * scale;
    for (let x = 0; x < d; x++) {
      dqRow[x] = (dqRow[x] as number) + c * (k[o0 + x] as number);
      dk[o0 + shift + x] = (dk[o0 + shift + x] as number) + c * (qRow[x] as number);
      dv[o0 + shift + x] = (dv[o0 + shift + x] as number) + p * (dORow[x] as number);
    }
  }
}

/**
 * The flash op's backward on host arrays (cpu, wasm): `[dq, dk, dv]` of `flashBackwardOp`'s reference
 * (the VJP of `flashReference` for the cotangents dO of the output and dLse of the log-sum-exp), without
 * an Lq × Lk matrix. P is recomputed from the saved log-sum-exp, row by row over the same key ranges as
 * the forward; dK and dV gather in float64 per head (a host kernel has no write races, so the backward
 * needs neither `qIndices` nor a second pass). Rows with log-sum-exp −∞ saw no key: they add nothing and
 * get dq = 0, and their dLse is ignored, as the reference's `isFinite` guard does.
 */
export function flashBackwardHost(t: Record<FlashBackwardInput, HostTensor>, attrs: FlashAttrs): HostTensor[] {
  const [batch, heads, lq, d] = t.q.shape as [number, number, number, number];
  const lk = t.k.shape[2] as number;
  const q = t.q.values as Float32Array;
  const k = t.k.values as Float32Array;
  const v = t.v.values as Float32Array;
  const o = t.o.values as Float32Array;
  const lse = t.lse.values as Float32Array;
  const dO = t.dO.values as Float32Array;
  const dLse = t.dLse.values as Float32Array;
  const dq = new Float32Array(batch * heads * lq * d);
  const dk = new Float32Array(batch * heads * lk * d);
  const dv = new Float32Array(batch * heads * lk * d);
  const dkHead = new Float64Array(lk * d);
  const dvHead = new Float64Array(lk * d);
  const ranges = new KeyRanges(t, attrs, lk);
  const scratch: RowScratch = { qRow: new Float64Array(d), dORow: new Float64Array(d), dqRow: new Float64Array(d) };
  const rowsPerBlock = attrs.sparse ? attrs.bq : lq;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const head = b * heads + h;
      const kvOff = head * lk * d;
      dkHead.fill(0);
      dvHead.fill(0);
      for (let qBlock = 0; qBlock * rowsPerBlock < lq; qBlock++) {
        const count = ranges.read(b, h, qBlock);
        const rowEnd = Math.min(lq, (qBlock + 1) * rowsPerBlock);
        for (let i = qBlock * rowsPerBlock; i < rowEnd; i++) {
          const row = head * lq + i;
          const rowLse = lse[row] as number;
          if (rowLse === Number.NEGATIVE_INFINITY) continue;
          const qOff = row * d;
          let delta = 0;
          for (let x = 0; x < d; x++) {
            scratch.qRow[x] = q[qOff + x] as number;
            scratch.dORow[x] = dO[qOff + x] as number;
            delta += (dO[qOff + x] as number) * (o[qOff + x] as number);
          }
          delta -= dLse[row] as number;
          scratch.dqRow.fill(0);
          const limit = attrs.causal ? Math.min(i + 1, lk) : lk;
          const bounds = ranges.bounds;
          for (let r = 0; r < count; r++) {
            const start = bounds[2 * r] as number;
            const end = Math.min(bounds[2 * r + 1] as number, limit);
            if (end > start)
              backwardChunk(k, v, kvOff + start * d, start * d, d, end - start, attrs.scale, rowLse, delta, scratch, dkHead, dvHead);
          }
          for (let x = 0; x < d; x++) dq[qOff + x] = scratch.dqRow[x] as number;
        }
      }
      dk.set(dkHead, kvOff);
      dv.set(dvHead, kvOff);
    }
  }
  return [
    { shape: [batch, heads, lq, d], dtype: 'float32', values: dq },
    { shape: [batch, heads, lk, d], dtype: 'float32', values: dk },
    { shape: [batch, heads, lk, d], dtype: 'float32', values: dv },
  ];
}
