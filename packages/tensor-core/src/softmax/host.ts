import type { HostTensor } from '../op/define-op.js';

/**
 * Row-wise (log-)softmax on typed arrays, max-subtracted, with the row sum accumulated in float64.
 * A row of all −∞ gives NaN, as the tfjs composite does. Logits are divided by `temperature` first.
 */
export function softmaxHost(x: HostTensor, log: boolean, temperature = 1): HostTensor {
  const [rows, cols] = x.shape as [number, number];
  // divided once into float32, as the reference's tf.div(x, T) rounds
  const src = temperature === 1 ? (x.values as Float32Array) : (x.values as Float32Array).map((v) => v / temperature);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) {
      const v = src[base + c] as number;
      if (v > max || Number.isNaN(v)) max = v;
    }
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
