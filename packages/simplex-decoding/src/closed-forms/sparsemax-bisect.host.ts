import type { HostTensor } from '@tessera/tensor-core';

/**
 * Sort-free sparsemax on typed arrays, the steps of the WGSL program: `iterations` bisection steps on τ
 * (midpoints rounded to float32 as on the GPU, sums in float64), then the exact finish on the support.
 */
export function sparsemaxBisectHost(z: HostTensor, iterations: number): HostTensor {
  const [rows, cols] = z.shape as [number, number];
  const src = z.values as Float32Array;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let top = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) top = Math.max(top, src[base + c] as number);
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
  return { shape: [rows, cols], dtype: 'float32', values: out };
}
