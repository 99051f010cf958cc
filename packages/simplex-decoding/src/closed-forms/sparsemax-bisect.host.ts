import type { HostTensor } from '@tessera/tensor-core';

/** Scratch of the candidates (values above the bracket's low end), grown on demand. */
let candidates = new Float32Array(0);

/** The steps below on the whole row, for rows whose max is not finite (NaN, +∞ or an all −∞ row). */
function plainRow(src: Float32Array, base: number, cols: number, top: number, iterations: number, out: Float32Array): void {
  let lo = Math.fround(top - 1);
  let hi = top;
  for (let i = 0; i < iterations; i++) {
    const mid = Math.fround((lo + hi) * 0.5);
    let acc = 0;
    for (let c = 0; c < cols; c++) acc += Math.max((src[base + c] as number) - mid, 0);
    if (acc >= 1) lo = mid;
    else hi = mid;
  }
  let total = 0;
  let count = 0;
  for (let c = 0; c < cols; c++) {
    const v = src[base + c] as number;
    if (v > lo) {
      total += v;
      count++;
    }
  }
  const tau = (total - 1) / count;
  for (let c = 0; c < cols; c++) out[base + c] = Math.max((src[base + c] as number) - tau, 0);
}

/**
 * Sort-free sparsemax on typed arrays, the steps of the WGSL program: `iterations` bisection steps on τ
 * (midpoints rounded to float32 as on the GPU, sums in float64), then the exact finish on the support.
 * A value at or below the bracket's low end adds exactly +0 to every later sum (the midpoints only rise
 * above it), so each step sums only the values still above it, in column order — the same float64 sums
 * as over the whole row, bit for bit — and a row costs one read and one write plus the steps over its
 * few candidates (on logits spread over [−10, 10], ~5% of the row above max − 1).
 */
export function sparsemaxBisectHost(z: HostTensor, iterations: number): HostTensor {
  const [rows, cols] = z.shape as [number, number];
  const src = z.values as Float32Array;
  const out = new Float32Array(rows * cols);
  if (candidates.length < cols) candidates = new Float32Array(cols);
  const cand = candidates;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let top = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) top = Math.max(top, src[base + c] as number);
    if (!Number.isFinite(top)) {
      plainRow(src, base, cols, top, iterations, out);
      continue;
    }
    let lo = Math.fround(top - 1);
    let hi = top;
    let n = 0;
    for (let c = 0; c < cols; c++) {
      const v = src[base + c] as number;
      if (v > lo) cand[n++] = v;
    }
    for (let i = 0; i < iterations; i++) {
      const mid = Math.fround((lo + hi) * 0.5);
      let acc = 0;
      for (let j = 0; j < n; j++) acc += Math.max((cand[j] as number) - mid, 0);
      if (acc >= 1) {
        lo = mid;
        let m = 0;
        for (let j = 0; j < n; j++) if ((cand[j] as number) > lo) cand[m++] = cand[j] as number;
        n = m;
      } else hi = mid;
    }
    let total = 0;
    for (let j = 0; j < n; j++) total += cand[j] as number;
    const tau = (total - 1) / n;
    for (let c = 0; c < cols; c++) out[base + c] = Math.max((src[base + c] as number) - tau, 0);
  }
  return { shape: [rows, cols], dtype: 'float32', values: out };
}
