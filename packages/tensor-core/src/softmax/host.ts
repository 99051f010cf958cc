import type { HostTensor } from '../op/define-op.js';

/**
 * Row-wise (log-)softmax of z = x / T on typed arrays, max-subtracted, with the row sum accumulated in
 * float64. Non-finite rows as `softmax` states them: a NaN makes the row NaN; m entries at +∞ get 1/m
 * (log: −log m) and the rest 0 (−∞); an all −∞ row is NaN.
 */
export function softmaxHost(x: HostTensor, log: boolean, temperature = 1): HostTensor {
  const [rows, cols] = x.shape as [number, number];
  // divided once into float32, as the reference's tf.div(x, T) rounds
  const src = temperature === 1 ? (x.values as Float32Array) : (x.values as Float32Array).map((v) => v / temperature);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    let nan = false;
    let infinite = 0;
    for (let c = 0; c < cols; c++) {
      const v = src[base + c] as number;
      if (Number.isNaN(v)) nan = true;
      else if (v === Number.POSITIVE_INFINITY) infinite++;
      else if (v > max) max = v;
    }
    if (nan) {
      out.fill(Number.NaN, base, base + cols);
      continue;
    }
    if (infinite > 0) {
      const on = log ? -Math.log(infinite) : 1 / infinite;
      const off = log ? Number.NEGATIVE_INFINITY : 0;
      for (let c = 0; c < cols; c++) out[base + c] = src[base + c] === Number.POSITIVE_INFINITY ? on : off;
      continue;
    }
    // an all −∞ row has max = −∞ and exp(−∞ − (−∞)) = NaN: the NaN row it should be
    let sum = 0;
    if (log) {
      for (let c = 0; c < cols; c++) sum += Math.exp((src[base + c] as number) - max);
      const shift = max + Math.log(sum);
      for (let c = 0; c < cols; c++) out[base + c] = (src[base + c] as number) - shift;
    } else {
      // keep the exponentials (rounded to float32 once, as any float32 kernel would) to scale them in place
      for (let c = 0; c < cols; c++) {
        const e = Math.exp((src[base + c] as number) - max);
        out[base + c] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let c = 0; c < cols; c++) out[base + c] = (out[base + c] as number) * inv;
    }
  }
  return { shape: [rows, cols], dtype: 'float32', values: out };
}
