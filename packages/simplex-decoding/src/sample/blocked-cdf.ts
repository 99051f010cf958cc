import { GROUP_SEGMENTS, GROUP_TOKENS, groupsFor, SEGMENT } from './layout.js';

const f32 = Math.fround;

/** A drawn token: its id (−1 when the row has no positive weight) and log(w_id / Σw) (NaN then). */
export interface Draw {
  id: number;
  logprob: number;
}

function segmentSum(w: Float32Array, start: number): number {
  const end = Math.min(start + SEGMENT, w.length);
  let acc = 0;
  for (let i = start; i < end; i++) acc = f32(acc + (w[i] as number));
  return acc;
}

function segmentSums(w: Float32Array, group: number): Float32Array {
  const sums = new Float32Array(GROUP_SEGMENTS);
  for (let t = 0; t < GROUP_SEGMENTS; t++) sums[t] = segmentSum(w, group * GROUP_TOKENS + t * SEGMENT);
  return sums;
}

/** A group's sum by the pairwise tree the WGSL workgroup reduction uses. */
function groupSum(w: Float32Array, group: number): number {
  const s = segmentSums(w, group);
  for (let stride = GROUP_SEGMENTS / 2; stride > 0; stride >>= 1) {
    for (let t = 0; t < stride; t++) s[t] = (s[t] as number) + (s[t + stride] as number);
  }
  return s[0] as number;
}

function lastPositive(w: Float32Array, start: number, end: number): number {
  for (let i = Math.min(end, w.length) - 1; i >= start; i--) if ((w[i] as number) > 0) return i;
  return -1;
}

/**
 * Inverse CDF over nonnegative weights `w` (one row, float32) in token-id order: the smallest id whose
 * cumulative weight exceeds `u · Σw`, with every partial sum in the blocked order of `layout.ts`
 * (group prefix, then segment prefix inside the chosen group, then tokens inside the chosen segment).
 * Round-off can leave no prefix above the target at the top end; then the last positive token of the
 * group (or row) is taken, so a zero-weight token is never drawn. A row that is not a distribution —
 * no positive weight, or a negative, NaN or +∞ weight — gives `{ id: −1, logprob: NaN }`.
 * The readable specification: the host kernels run `drawDense` / `drawSparse` (blocked-draw.ts), which
 * the tests hold to it bit for bit.
 */
export function blockedInverseCdf(w: Float32Array, u: number): Draw {
  for (let i = 0; i < w.length; i++) {
    const v = w[i] as number;
    if (!(v >= 0) || v === Number.POSITIVE_INFINITY) return { id: -1, logprob: Number.NaN };
  }
  const groups = groupsFor(w.length);
  const sums = new Float32Array(groups);
  let total = 0;
  for (let g = 0; g < groups; g++) {
    sums[g] = groupSum(w, g);
    total = f32(total + (sums[g] as number));
  }
  if (!(total > 0) || total === Number.POSITIVE_INFINITY) return { id: -1, logprob: Number.NaN };
  const target = f32(u * total);
  let acc = 0;
  let group = -1;
  for (let g = 0; g < groups; g++) {
    const next = f32(acc + (sums[g] as number));
    if (next > target) {
      group = g;
      break;
    }
    acc = next;
  }
  let id = -1;
  if (group >= 0) {
    const segs = segmentSums(w, group);
    for (let t = 0; t < GROUP_SEGMENTS && id < 0; t++) {
      const next = f32(acc + (segs[t] as number));
      if (next > target) {
        const start = group * GROUP_TOKENS + t * SEGMENT;
        let inner = acc;
        for (let i = start; i < Math.min(start + SEGMENT, w.length); i++) {
          inner = f32(inner + (w[i] as number));
          if (inner > target) {
            id = i;
            break;
          }
        }
        if (id < 0) id = lastPositive(w, start, start + SEGMENT);
        break;
      }
      acc = next;
    }
    if (id < 0) id = lastPositive(w, group * GROUP_TOKENS, (group + 1) * GROUP_TOKENS);
  } else {
    id = lastPositive(w, 0, w.length);
  }
  return { id, logprob: f32(f32(Math.log(w[id] as number)) - f32(Math.log(total))) };
}
