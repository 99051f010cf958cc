import type { HostTensor } from '@tessera/tensor-core';
import type { KernelInput } from './kernel-inputs.js';

const TWO_PI = 2 * Math.PI;

/**
 * Mamba-3 on the host, token by token in float64: the recurrence of reference.ts (`stepReference`),
 *   S_t = α_t S_{t−1} + α_t c_t P_{t−1} + γ_t P_t,   y_{t,r} = S_t q̃_{t,r} + D v_{t,r},
 * with α = e^{AΔ}, c = (1−λ)Δ, γ = λΔ and P_t = Σ_r v_{t,r} k̃_{t,r}ᵀ, packed as the ops return it (packing.ts:
 * per (b, h) `[y (L·R·P) | S (P·N) | last k̃ (R·N) | last angle (Nr)]`). `step` drops the L axis of the inputs.
 *
 * Each outer product is added once rather than twice (at its own token with γ and at the next with α c): the
 * kernel carries Ŝ_t = S_t + c_{t+1} P_t, the state with the next token's share of P_t already in (the chunked
 * form's look-ahead `scale`), so Ŝ_t = α_t Ŝ_{t−1} + (γ_t + c_{t+1}) P_t, and reads y through
 * S_t q̃ = Ŝ_t q̃ − c_{t+1} Σ_r' v_r' (k̃_r' · q̃), an O(R²(N + P)) correction. One sweep over the state per token,
 * row by row ([P][N], the N loop innermost), updates it and reads it out. After the last token c = 0, so Ŝ is S;
 * before the first, Ŝ = S_0 + c_0 Σ_r v_{−1,r} k̃_{−1,r}ᵀ from the carried key and value.
 *
 * The angle θ_t = (θ_{t−1} + π tanh(theta_t) Δ_t) mod 2π is wrapped every token in float64 (the tfjs chunked form
 * wraps a float32 running sum once; cos and sin agree). A NaN input makes its (b, h) NaN from its token on, or
 * from the token before for Δ and λ (their c enters the previous token's Ŝ); the tfjs chunked form: from the
 * chunk holding it on.
 */
export function mamba3Host(t: Record<KernelInput, HostTensor>, rank: number, step: boolean): HostTensor {
  const xShape = t.x.shape;
  const batch = xShape[0] as number;
  const heads = xShape[1] as number;
  const length = step ? 1 : (xShape[2] as number);
  const rp = xShape[xShape.length - 1] as number;
  const rn = t.B.shape[t.B.shape.length - 1] as number;
  const p = rp / rank;
  const n = rn / rank;
  const nr = t.angle.shape[2] as number;
  const pn = p * n;
  const width = length * rp + pn + rn + nr;
  const x = t.x.values;
  const dt = t.dt.values;
  const A = t.A.values;
  const B = t.B.values;
  const C = t.C.values;
  const lambda = t.lambda.values;
  const theta = t.theta.values;
  const D = t.D.values;
  const ssm = t.ssm.values;
  const kIn = t.k.values;
  const vIn = t.v.values;
  const angleIn = t.angle.values;
  const out = new Float32Array(batch * heads * width);

  const s = new Float64Array(pn);
  const angle = new Float64Array(nr);
  const cos = new Float64Array(nr);
  const sin = new Float64Array(nr);
  const q = new Float64Array(rn);
  const k = new Float64Array(rn);
  // k̃_r' · q̃_r, r' major
  const kq = new Float64Array(rank * rank);
  // w·v_{t,r}[p] for the current row, and the R read-outs of it
  const wv = new Float64Array(rank);
  const acc = new Float64Array(rank);

  /** Rotates the adjacent pairs of every rank block of `src` (offset `at`) by the current angles into `dst`. */
  const rotate = (src: ArrayLike<number>, at: number, dst: Float64Array): void => {
    for (let r = 0; r < rank; r++) {
      const base = r * n;
      for (let j = 0; j < n; j++) dst[base + j] = src[at + base + j] as number;
      for (let j = 0; j < nr; j++) {
        const u0 = dst[base + 2 * j] as number;
        const u1 = dst[base + 2 * j + 1] as number;
        const c = cos[j] as number;
        const si = sin[j] as number;
        dst[base + 2 * j] = u0 * c - u1 * si;
        dst[base + 2 * j + 1] = u0 * si + u1 * c;
      }
    }
  };

  /** θ ← (θ + π tanh(theta_token) Δ) mod 2π, and its cosines and sines. */
  const advanceAngles = (token: number, delta: number): void => {
    for (let j = 0; j < nr; j++) {
      const a = (angle[j] as number) + Math.PI * Math.tanh(theta[token * nr + j] as number) * delta;
      const wrapped = a - Math.floor(a / TWO_PI) * TWO_PI;
      angle[j] = wrapped;
      cos[j] = Math.cos(wrapped);
      sin[j] = Math.sin(wrapped);
    }
  };

  // a rank-1 step needs no carried Ŝ: it reads the input state and writes the output state in one pass
  const direct = step && rank === 1;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const bh = b * heads + h;
      const row = bh * width;
      const tokens = bh * length;
      const skip = D[h] as number;
      const stateAt = row + length * rp;
      for (let j = 0; j < nr; j++) angle[j] = angleIn[bh * nr + j] as number;
      const c0 = (1 - (lambda[tokens] as number)) * (dt[tokens] as number);
      if (direct) {
        // one pass from the input state to the output state: S = α S_0 + α c_0 v_{−1} k̃_{−1}ᵀ + γ x k̃ᵀ
        const delta = dt[tokens] as number;
        const alpha = Math.exp((A[tokens] as number) * delta);
        advanceAngles(tokens, delta);
        rotate(C, tokens * rn, q);
        rotate(B, tokens * rn, k);
        stepSweepRank1(
          { ssm, at: bh * pn, kPrev: kIn, kPrevAt: bh * rn, vPrev: vIn, vPrevAt: bh * rp, x, xAt: tokens * rp },
          { k, q, alpha, carry: alpha * c0, gamma: (lambda[tokens] as number) * delta, skip },
          { out, yAt: row, stateAt },
          p,
          n,
        );
        out.set(k, stateAt + pn);
        out.set(angle, stateAt + pn + rn);
        continue;
      }
      for (let e = 0; e < pn; e++) s[e] = ssm[bh * pn + e] as number;
      // Ŝ_{−1} = S_0 + c_0 Σ_r v_{−1,r} k̃_{−1,r}ᵀ
      for (let r = 0; r < rank; r++) {
        for (let i = 0; i < p; i++) {
          const cv = c0 * (vIn[bh * rp + r * p + i] as number);
          const kAt = bh * rn + r * n;
          for (let j = 0; j < n; j++) s[i * n + j] = (s[i * n + j] as number) + cv * (kIn[kAt + j] as number);
        }
      }
      for (let l = 0; l < length; l++) {
        const token = tokens + l;
        const delta = dt[token] as number;
        const alpha = Math.exp((A[token] as number) * delta);
        const gamma = (lambda[token] as number) * delta;
        const cNext = l + 1 < length ? (1 - (lambda[token + 1] as number)) * (dt[token + 1] as number) : 0;
        const w = gamma + cNext;
        advanceAngles(token, delta);
        rotate(C, token * rn, q);
        rotate(B, token * rn, k);
        const xAt = token * rp;
        const yAt = row + l * rp;
        if (cNext !== 0) {
          for (let r2 = 0; r2 < rank; r2++) {
            for (let r = 0; r < rank; r++) {
              let dot = 0;
              for (let j = 0; j < n; j++) dot += (k[r2 * n + j] as number) * (q[r * n + j] as number);
              kq[r2 * rank + r] = dot;
            }
          }
        }
        if (rank === 1) {
          const correction = cNext !== 0 ? cNext * (kq[0] as number) : 0;
          sweepRank1(s, k, q, x, xAt, alpha, w, correction, skip, out, yAt, p, n);
        } else {
          for (let i = 0; i < p; i++) {
            const at = i * n;
            for (let r = 0; r < rank; r++) {
              wv[r] = w * (x[xAt + r * p + i] as number);
              acc[r] = 0;
            }
            for (let j = 0; j < n; j++) {
              let v = alpha * (s[at + j] as number);
              for (let r = 0; r < rank; r++) v += (wv[r] as number) * (k[r * n + j] as number);
              s[at + j] = v;
              for (let r = 0; r < rank; r++) acc[r] = (acc[r] as number) + v * (q[r * n + j] as number);
            }
            for (let r = 0; r < rank; r++) {
              let y = acc[r] as number;
              if (cNext !== 0) {
                let correction = 0;
                for (let r2 = 0; r2 < rank; r2++) correction += (x[xAt + r2 * p + i] as number) * (kq[r2 * rank + r] as number);
                y -= cNext * correction;
              }
              out[yAt + r * p + i] = y + skip * (x[xAt + r * p + i] as number);
            }
          }
        }
      }
      out.set(s, stateAt);
      out.set(k, stateAt + pn);
      out.set(angle, stateAt + pn + rn);
    }
  }
  return { shape: [batch, heads, width], dtype: 'float32', values: out };
}

/**
 * One token's sweep over a rank-1 state `[P][N]`: S ← α S + w x k̃ᵀ, y = S q̃ − correction·x + D x, four rows at a
 * time (k̃ and q̃ are loaded once per four rows: V8 does not vectorise, so loads bound the loop).
 */
function sweepRank1(
  s: Float64Array,
  k: Float64Array,
  q: Float64Array,
  x: ArrayLike<number>,
  xAt: number,
  alpha: number,
  w: number,
  correction: number,
  skip: number,
  out: Float32Array,
  yAt: number,
  p: number,
  n: number,
): void {
  let i = 0;
  for (; i + 3 < p; i += 4) {
    const x0 = x[xAt + i] as number;
    const x1 = x[xAt + i + 1] as number;
    const x2 = x[xAt + i + 2] as number;
    const x3 = x[xAt + i + 3] as number;
    const w0 = w * x0;
    const w1 = w * x1;
    const w2 = w * x2;
    const w3 = w * x3;
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    let y0 = 0;
    let y1 = 0;
    let y2 = 0;
    let y3 = 0;
    for (let j = 0; j < n; j++) {
      const kj = k[j] as number;
      const qj = q[j] as number;
      const s0 = alpha * (s[r0 + j] as number) + w0 * kj;
      const s1 = alpha * (s[r1 + j] as number) + w1 * kj;
      const s2 = alpha * (s[r2 + j] as number) + w2 * kj;
      const s3 = alpha * (s[r3 + j] as number) + w3 * kj;
      s[r0 + j] = s0;
      s[r1 + j] = s1;
      s[r2 + j] = s2;
      s[r3 + j] = s3;
      y0 += s0 * qj;
      y1 += s1 * qj;
      y2 += s2 * qj;
      y3 += s3 * qj;
    }
    out[yAt + i] = y0 + (skip - correction) * x0;
    out[yAt + i + 1] = y1 + (skip - correction) * x1;
    out[yAt + i + 2] = y2 + (skip - correction) * x2;
    out[yAt + i + 3] = y3 + (skip - correction) * x3;
  }
  for (; i < p; i++) {
    const xi = x[xAt + i] as number;
    const wx = w * xi;
    const at = i * n;
    let y = 0;
    for (let j = 0; j < n; j++) {
      const v = alpha * (s[at + j] as number) + wx * (k[j] as number);
      s[at + j] = v;
      y += v * (q[j] as number);
    }
    out[yAt + i] = y + (skip - correction) * xi;
  }
}

/**
 * A rank-1 step from the input state to the output state (float32 both, as the tfjs step keeps them) in one pass:
 * S = α S_0 + carry·v_{−1} k̃_{−1}ᵀ + γ x k̃ᵀ, y = S q̃ + D x, S read out as stored. Four rows at a time.
 */
function stepSweepRank1(
  src: {
    ssm: ArrayLike<number>;
    at: number;
    kPrev: ArrayLike<number>;
    kPrevAt: number;
    vPrev: ArrayLike<number>;
    vPrevAt: number;
    x: ArrayLike<number>;
    xAt: number;
  },
  c: { k: Float64Array; q: Float64Array; alpha: number; carry: number; gamma: number; skip: number },
  dst: { out: Float32Array; yAt: number; stateAt: number },
  p: number,
  n: number,
): void {
  const { ssm, at, kPrev, kPrevAt, vPrev, vPrevAt, x, xAt } = src;
  const { k, q, alpha, carry, gamma, skip } = c;
  const { out, yAt, stateAt } = dst;
  let i = 0;
  for (; i + 3 < p; i += 4) {
    const a0 = carry * (vPrev[vPrevAt + i] as number);
    const a1 = carry * (vPrev[vPrevAt + i + 1] as number);
    const a2 = carry * (vPrev[vPrevAt + i + 2] as number);
    const a3 = carry * (vPrev[vPrevAt + i + 3] as number);
    const x0 = x[xAt + i] as number;
    const x1 = x[xAt + i + 1] as number;
    const x2 = x[xAt + i + 2] as number;
    const x3 = x[xAt + i + 3] as number;
    const g0 = gamma * x0;
    const g1 = gamma * x1;
    const g2 = gamma * x2;
    const g3 = gamma * x3;
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    let y0 = 0;
    let y1 = 0;
    let y2 = 0;
    let y3 = 0;
    for (let j = 0; j < n; j++) {
      const pj = kPrev[kPrevAt + j] as number;
      const kj = k[j] as number;
      const qj = q[j] as number;
      const s0 = Math.fround(alpha * (ssm[at + r0 + j] as number) + a0 * pj + g0 * kj);
      const s1 = Math.fround(alpha * (ssm[at + r1 + j] as number) + a1 * pj + g1 * kj);
      const s2 = Math.fround(alpha * (ssm[at + r2 + j] as number) + a2 * pj + g2 * kj);
      const s3 = Math.fround(alpha * (ssm[at + r3 + j] as number) + a3 * pj + g3 * kj);
      out[stateAt + r0 + j] = s0;
      out[stateAt + r1 + j] = s1;
      out[stateAt + r2 + j] = s2;
      out[stateAt + r3 + j] = s3;
      y0 += s0 * qj;
      y1 += s1 * qj;
      y2 += s2 * qj;
      y3 += s3 * qj;
    }
    out[yAt + i] = y0 + skip * x0;
    out[yAt + i + 1] = y1 + skip * x1;
    out[yAt + i + 2] = y2 + skip * x2;
    out[yAt + i + 3] = y3 + skip * x3;
  }
  for (; i < p; i++) {
    const ai = carry * (vPrev[vPrevAt + i] as number);
    const xi = x[xAt + i] as number;
    const gi = gamma * xi;
    const row = i * n;
    let y = 0;
    for (let j = 0; j < n; j++) {
      const v = Math.fround(alpha * (ssm[at + row + j] as number) + ai * (kPrev[kPrevAt + j] as number) + gi * (k[j] as number));
      out[stateAt + row + j] = v;
      y += v * (q[j] as number);
    }
    out[yAt + i] = y + skip * xi;
  }
}
