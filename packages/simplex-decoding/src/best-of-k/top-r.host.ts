import type { HostTensor } from '@tessera/tensor-core';
import { topKBuffers, topKOfRow } from '../fused/top-candidates.js';
import type { TopRAttrs } from './op.js';

/** Scratch of one row: R's token ids and their log q (grown on demand), the J power sums and normalisers. */
let weightedIds = new Int32Array(0);
let weightedLogQ = new Float64Array(0);
let weightedLogP = new Float64Array(0);

/**
 * One unnormalised mirror step of a token with coverage weight 1 (mirror-step.wgsl.ts, `bokStepOp`'s host
 * kernel): lq + η((1 + λ) lp − λ lq + β̄K (1 − q)^{K−1}).
 */
function mirrorStep(lq: number, lp: number, lambda: number, eta: number, coverage: number, kMinus1: number): number {
  let g = (1 + lambda) * lp - lambda * lq;
  if (coverage !== 0) g += coverage * (kMinus1 === 0 ? 1 : Math.exp(kMinus1 * Math.log1p(-Math.exp(lq))));
  return lq + eta * g;
}

/** x_r: the r-th largest unmasked value of the row counting repeats, −∞ when fewer than r are unmasked. */
function rthLargest(row: Float32Array, r: number, unmasked: number): number {
  if (unmasked < r) return Number.NEGATIVE_INFINITY;
  if (r === row.length) {
    let low = Number.POSITIVE_INFINITY;
    for (let i = 0; i < row.length; i++) low = Math.min(low, row[i] as number);
    return low;
  }
  // the row holds no NaN or +∞ here, so the one-read top-k of the fused sampler applies
  topKOfRow(row, 1, r);
  const { z } = topKBuffers;
  let low = Number.POSITIVE_INFINITY;
  for (let j = 0; j < r; j++) low = Math.min(low, z[j] as number);
  return low;
}

/**
 * `bokTopROp` on typed arrays, the passes of the WGSL kernel (kernel.ts) in float64 on one row at a time:
 * the row's max and non-finite flags; x_r by the fused sampler's one-read top-k; one pass for the
 * softmax sum of z = x/T, the J power sums S_m = Σ_{x < x_r} exp(a_m (x − x_r)/T) (a₀ = 1,
 * a_{m+1} = (1 − ηλ)a_m + η(1 + λ)) and the tokens of R = {x ≥ x_r}; the J mirror steps on R with the
 * off-R tokens in closed form (log q_j = a_j (x − x_r)/T + d_j, see `TopRMergeProgram`); one pass writing
 * q. (J + 2) exponentials a token against ~5J for the log-space iteration's steps and log-softmaxes.
 * The non-finite rules of `bestOfK`: NaN rows for a NaN or no unmasked token, 1/m on m tokens at +∞.
 */
export function topRHost(x: HostTensor, { k, lambda, betaBar, eta, steps, temperature, r }: TopRAttrs): HostTensor {
  const [rows, cols] = x.shape as [number, number];
  const src = x.values as Float32Array;
  const out = new Float32Array(rows * cols);
  const invT = 1 / temperature;
  const decay = 1 - eta * lambda;
  const gain = eta * (1 + lambda);
  const coverage = betaBar * k;
  const kMinus1 = k - 1;
  const a = new Float64Array(steps + 1);
  a[0] = 1;
  for (let m = 1; m <= steps; m++) a[m] = decay * (a[m - 1] as number) + gain;
  const powerSums = new Float64Array(steps);
  for (let row = 0; row < rows; row++) {
    const base = row * cols;
    const values = src.subarray(base, base + cols);
    const q = out.subarray(base, base + cols);
    let zmax = Number.NEGATIVE_INFINITY;
    let nan = false;
    let infinite = 0;
    let unmasked = 0;
    for (let i = 0; i < cols; i++) {
      const v = values[i] as number;
      const z = v * invT;
      if (Number.isNaN(v)) nan = true;
      else if (z === Number.POSITIVE_INFINITY) infinite++;
      else if (z !== Number.NEGATIVE_INFINITY) {
        unmasked++;
        if (z > zmax) zmax = z;
      }
    }
    if (nan || (infinite === 0 && unmasked === 0)) {
      q.fill(Number.NaN);
      continue;
    }
    if (infinite > 0) {
      for (let i = 0; i < cols; i++) q[i] = (values[i] as number) * invT === Number.POSITIVE_INFINITY ? 1 / infinite : 0;
      continue;
    }
    const xr = rthLargest(values, r, unmasked);
    if (weightedIds.length < cols) {
      weightedIds = new Int32Array(cols);
      weightedLogQ = new Float64Array(cols);
      weightedLogP = new Float64Array(cols);
    }
    // the softmax sum, the off-R power sums and R's tokens, in one pass
    powerSums.fill(0);
    let sum = 0;
    let n = 0;
    for (let i = 0; i < cols; i++) {
      const v = values[i] as number;
      if (v === Number.NEGATIVE_INFINITY) continue;
      sum += Math.exp(v * invT - zmax);
      if (v >= xr) {
        weightedIds[n++] = i;
        continue;
      }
      const u = (v - xr) * invT;
      for (let m = 0; m < steps; m++) powerSums[m] = (powerSums[m] as number) + Math.exp((a[m + 1] as number) * u);
    }
    const lse = zmax + Math.log(sum);
    const lpThreshold = xr * invT - lse;
    for (let t = 0; t < n; t++) {
      const lp = (values[weightedIds[t] as number] as number) * invT - lse;
      weightedLogP[t] = lp;
      weightedLogQ[t] = lp;
    }
    let d = lpThreshold;
    for (let j = 0; j < steps; j++) {
      let ymax = Number.NEGATIVE_INFINITY;
      for (let t = 0; t < n; t++) {
        const y = mirrorStep(weightedLogQ[t] as number, weightedLogP[t] as number, lambda, eta, coverage, kMinus1);
        weightedLogQ[t] = y;
        if (y > ymax) ymax = y;
      }
      let zsum = 0;
      for (let t = 0; t < n; t++) zsum += Math.exp((weightedLogQ[t] as number) - ymax);
      let logZ = ymax + Math.log(zsum);
      const shifted = decay * d + gain * lpThreshold;
      const offR = powerSums[j] as number;
      if (offR > 0) {
        const tail = Math.log(offR) + shifted;
        const top = Math.max(logZ, tail);
        logZ = top + Math.log(Math.exp(logZ - top) + Math.exp(tail - top));
      }
      d = shifted - logZ;
      for (let t = 0; t < n; t++) weightedLogQ[t] = (weightedLogQ[t] as number) - logZ;
    }
    const aJ = a[steps] as number;
    for (let i = 0; i < cols; i++) {
      const v = values[i] as number;
      q[i] = v < xr ? Math.exp(aJ * ((v - xr) * invT) + d) : 0;
    }
    for (let t = 0; t < n; t++) q[weightedIds[t] as number] = Math.exp(weightedLogQ[t] as number);
  }
  return { shape: [rows, cols], dtype: 'float32', values: out };
}
