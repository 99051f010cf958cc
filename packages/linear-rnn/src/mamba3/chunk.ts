import { deviceZeros, type Tensor, tf } from '@tessera/tensor-core';
import { cumsumLast } from './cumsum.js';
import type { KernelAttrs, KernelTensors } from './kernel-inputs.js';
import type { Unpacked } from './packing.js';
import { cumulativeAngles, rotatePairs } from './rotary.js';

/** Lower-triangular 0/1 mask `[n, n]`, with or without the diagonal. */
function lowerMask(n: number, strict: boolean): Tensor {
  return tf.tidy(() => {
    const band = tf.linalg.bandPart(tf.ones([n, n]), -1, 0);
    return strict ? tf.sub(band, tf.eye(n)) : band;
  });
}

/** exp(a_i − a_j) for j ≤ i (else 0) over the last axis of `a: [..., n]` → `[..., n, n]`. */
function segmentDecay(a: Tensor, strict: boolean): Tensor {
  return tf.tidy(() => {
    const n = a.shape[a.rank - 1] as number;
    const mask = lowerMask(n, strict);
    // masked before exp: above the diagonal a_i − a_j > 0 may overflow, and 0·∞ would poison the gradient
    const diff = tf.mul(tf.sub(tf.expandDims(a, -1), tf.expandDims(a, -2)), mask);
    return tf.mul(tf.exp(diff), mask);
  });
}

/** `[M, T, T]` → `[M, T·R, T·R]` with every entry repeated over an R×R block (the ranks of a token pair). */
function repeatRanks(c: Tensor, r: number): Tensor {
  if (r === 1) return c;
  return tf.tidy(() => {
    const [m, t] = c.shape as [number, number, number];
    // rank ≤ 4 throughout: tfjs 4.22's WebGPU backend mis-broadcasts some rank-5 operands
    const rows = tf.reshape(tf.tile(tf.reshape(c, [m, t, 1, t]), [1, 1, r, 1]), [m * t * r, t, 1]);
    return tf.reshape(tf.tile(rows, [1, 1, r]), [m, t * r, t * r]);
  });
}

function padTokens(u: Tensor, pad: number): Tensor {
  if (pad === 0) return u;
  const widths = u.shape.map((_, i) => (i === 2 ? [0, pad] : [0, 0])) as [number, number][];
  return tf.pad(u, widths);
}

/**
 * Mamba-3 in chunked (SSD) form, in differentiable tfjs ops: the training path and the fallback of the
 * WGSL kernel (papers/linear_rnn.md 1.6, mamba_ssm's `mamba3_siso_fwd_ref`, extended to rank R).
 * Unrolling the trapezoidal recurrence, the pair (k̃_s, v_s) enters S_t (t ≥ s) with weight
 *   γ_s at t = s,   e^{Σ_{u=s+1..t} AΔ_u}·scale_s at t > s,   scale_s = λ_sΔ_s + (1−λ_{s+1})Δ_{s+1},
 * so it is Mamba-2's SSD with keys scaled by `scale` (look-ahead to the next token's Δ, λ; 0 after the
 * last token) and γ on the diagonal. The incoming state folds the cached token in first:
 * Ŝ = S_0 + (1−λ_0)Δ_0 Σ_r v_{−1,r} k̃_{−1,r}ᵀ. Within a chunk of T tokens the R ranks of a token share
 * its decay, so a chunk is a (T·R)×(T·R) masked product; chunks are joined by their decayed states.
 */
export function chunkForward(t: KernelTensors, attrs: KernelAttrs): Unpacked {
  return tf.tidy(() => {
    const { rank: r, chunkSize } = attrs;
    const [b, h, l, rp] = t.x.shape as [number, number, number, number];
    const rn = t.B.shape[3] as number;
    const p = rp / r;
    const n = rn / r;
    const size = Math.min(chunkSize, l);
    const nc = Math.ceil(l / size);
    const pad = nc * size - l;
    const bhc = b * h * nc;
    const tr = size * r;

    const angle = cumulativeAngles(t.theta, t.dt, t.angle);
    const q = rotatePairs(t.C, angle, r);
    const k = rotatePairs(t.B, angle, r);
    const adt = tf.mul(t.A, t.dt);
    const gamma = tf.mul(t.lambda, t.dt);
    const carry = tf.mul(tf.sub(1, t.lambda), t.dt); // (1−λ_t)Δ_t: weight of token t−1 in S_t, before α_t
    const nextCarry = tf.concat([tf.slice(carry, [0, 0, 1], [-1, -1, -1]), deviceZeros([b, h, 1])], 2);
    const scale = tf.add(gamma, nextCarry);

    const cs = cumsumLast(tf.reshape(padTokens(adt, pad), [b, h, nc, size]));
    const scaleC = tf.reshape(padTokens(scale, pad), [b, h, nc, size]);
    const gammaC = tf.reshape(padTokens(gamma, pad), [b, h, nc, size]);
    const coef = tf.add(tf.mul(segmentDecay(cs, true), tf.expandDims(scaleC, -2)), tf.mul(tf.eye(size), tf.expandDims(gammaC, -2)));

    const qc = tf.reshape(padTokens(q, pad), [bhc, tr, n]);
    const kc = tf.reshape(padTokens(k, pad), [bhc, tr, n]);
    const vc = tf.reshape(padTokens(t.x, pad), [bhc, tr, p]);
    const weights = tf.mul(tf.matMul(qc, kc, false, true), repeatRanks(tf.reshape(coef, [bhc, size, size]), r));
    const intra = tf.matMul(weights, vc);

    // chunk-local states: Σ_s e^{cs_last − cs_s} scale_s v_s k̃_sᵀ
    const last = tf.slice(cs, [0, 0, 0, size - 1], [-1, -1, -1, 1]);
    const toEnd = tf.mul(tf.exp(tf.sub(last, cs)), scaleC);
    const kw = tf.reshape(tf.mul(tf.reshape(kc, [bhc, size, r, n]), tf.reshape(toEnd, [bhc, size, 1, 1])), [bhc, tr, n]);
    const local = tf.reshape(tf.matMul(vc, kw, true, false), [b, h, nc, p * n]);

    const fold = tf.matMul(tf.reshape(t.v, [b, h, r, p]), tf.reshape(t.k, [b, h, r, n]), true, false);
    const first = tf.slice(carry, [0, 0, 0], [-1, -1, 1]);
    const start = tf.add(t.ssm, tf.mul(tf.reshape(first, [b, h, 1, 1]), fold));
    const states = tf.concat([tf.reshape(start, [b, h, 1, p * n]), local], 2);
    const chunkDecay = cumsumLast(tf.concat([deviceZeros([b, h, 1]), tf.reshape(last, [b, h, nc])], 2));
    const passed = tf.matMul(segmentDecay(chunkDecay, false), states); // [b, h, nc+1, p·n]: state entering each chunk, then the final one

    const entering = tf.reshape(tf.slice(passed, [0, 0, 0, 0], [-1, -1, nc, -1]), [bhc, p, n]);
    const decayIn = tf.reshape(tf.exp(cs), [bhc, size, 1, 1]);
    const inter = tf.reshape(tf.mul(tf.reshape(tf.matMul(qc, entering, false, true), [bhc, size, r, p]), decayIn), [bhc, tr, p]);
    const y = tf.slice(tf.reshape(tf.add(intra, inter), [b, h, nc * size, rp]), [0, 0, 0, 0], [-1, -1, l, -1]);
    const lastToken = (u: Tensor) => tf.squeeze(tf.slice(u, [0, 0, l - 1], [-1, -1, 1]), [2]);
    return {
      y: tf.add(y, tf.mul(tf.reshape(t.D, [1, h, 1, 1]), t.x)),
      ssm: tf.reshape(tf.slice(passed, [0, 0, nc, 0], [-1, -1, 1, -1]), [b, h, p, n]),
      k: lastToken(k),
      angle: lastToken(angle),
    };
  });
}
