import { type Tensor, tf } from '@tessera/tensor-core';
import { cumsumLast } from '../mamba3/cumsum.js';
import { RESET_BELOW } from './reset.js';
import type { DeltaInputs, DeltaRuleResult } from './types.js';

/**
 * The most matrices one batched matmul takes: tfjs' WebGPU matmul puts the batch in the dispatch's Z dimension, which
 * WebGPU caps at 65535 workgroups (the first level of the block inversion below has B·H·N·C/2 batches: 65536 at
 * H = 8, L = 16384, C = 64, where tfjs threw "Dispatch size exceeds WebGPU limits").
 */
const MAX_MATMUL_BATCH = 65535;

/** tf.matMul of `[G, m, k]` by `[G, k, n]`, in slices of at most `maxBatch` matrices. */
export function batchedMatMul(a: Tensor, b: Tensor, maxBatch = MAX_MATMUL_BATCH): Tensor {
  const g = a.shape[0] as number;
  if (g <= maxBatch) return tf.matMul(a, b);
  return tf.tidy(() => {
    const parts: Tensor[] = [];
    for (let start = 0; start < g; start += maxBatch) {
      const size = Math.min(maxBatch, g - start);
      parts.push(tf.matMul(tf.slice(a, [start, 0, 0], [size, -1, -1]), tf.slice(b, [start, 0, 0], [size, -1, -1])));
    }
    return tf.concat(parts, 0);
  });
}

/**
 * (I + A)⁻¹ for strictly lower-triangular A `[G, N, C, C]` by recursive 2 × 2 block inversion,
 * [[X, 0], [Y, Z]]⁻¹ = [[X⁻¹, 0], [−Z⁻¹ Y X⁻¹, Z⁻¹]], from 1 × 1 blocks up, every diagonal block of a level at once:
 * ⌈log₂ C⌉ levels of batched matmuls, differentiable by autodiff. Each intermediate is the inverse of a diagonal
 * block, so nothing grows past the inverse itself. (The Neumann product Π(I + N^{2^k}) used before has the same depth,
 * but its powers of N grow like binomial coefficients when keys are correlated: at C = 64 and key cosines ≈ 0.5 its
 * residual ‖(I + A)T − I‖ was ~500, and training the plain delta rule went NaN within 40 steps.)
 */
function unitLowerInverse(a: Tensor, size: number): Tensor {
  const [g, n] = a.shape as [number, number];
  let p = 1;
  while (p < size) p *= 2;
  // padding A with zeros pads I + A with the identity, whose inverse it is
  const padded =
    p === size
      ? a
      : tf.pad(a, [
          [0, 0],
          [0, 0],
          [0, p - size],
          [0, p - size],
        ]);
  const groups = g * n;
  const flat = tf.reshape(padded, [groups, p, p]);
  let inverse: Tensor = tf.ones([groups * p, 1, 1]);
  for (let s = 1; s < p; s *= 2) {
    const blocks = p / (2 * s);
    // the diagonal 2s-blocks: rows grouped by block, columns split into blocks, the matching column block kept
    // (a mask and a sum, so that no tensor exceeds rank 4)
    const rows = tf.reshape(flat, [groups * blocks, 2 * s, blocks, 2 * s]);
    const pick = tf.reshape(tf.tile(tf.eye(blocks), [groups, 1]), [groups * blocks, 1, blocks, 1]);
    const diagonal = tf.sum(tf.mul(rows, pick), 2);
    const y = tf.slice(diagonal, [0, s, 0], [-1, s, s]);
    const pair = tf.reshape(inverse, [groups * blocks, 2, s, s]);
    const x = tf.reshape(tf.slice(pair, [0, 0, 0, 0], [-1, 1, s, s]), [groups * blocks, s, s]);
    const z = tf.reshape(tf.slice(pair, [0, 1, 0, 0], [-1, 1, s, s]), [groups * blocks, s, s]);
    const lowerLeft = tf.neg(batchedMatMul(z, batchedMatMul(y, x)));
    inverse = tf.concat([tf.concat([x, tf.zerosLike(x)], 2), tf.concat([lowerLeft, z], 2)], 1);
  }
  const full = tf.reshape(inverse, [g, n, p, p]);
  return p === size ? full : tf.slice(full, [0, 0, 0, 0], [-1, -1, size, size]);
}

/**
 * `[B, H, L, ...] → [B·H, N, C, ...]`, zero-padding L up to N·C. B and H are folded so that no tensor
 * exceeds rank 4: several of tfjs' WebGPU kernels (slice among them) emit invalid WGSL at rank 5.
 */
function toChunks(x: Tensor, chunks: number, size: number): Tensor {
  const [b, h, length] = x.shape as [number, number, number];
  const pad: [number, number][] = x.shape.map(() => [0, 0]);
  pad[2] = [0, chunks * size - length];
  const padded = chunks * size === length ? x : tf.pad(x, pad);
  return tf.reshape(padded, [b * h, chunks, size, ...x.shape.slice(3)]);
}

/**
 * Chunk n of `[B·H, N, ...]`. A slice, not tf.unstack: unstack's gradient stacks the gradients of all
 * its outputs and fails when one has none (the last chunk's terms when the final state is unused).
 */
function chunkAt(x: Tensor, n: number): Tensor {
  const begin = x.shape.map((_, i) => (i === 1 ? n : 0));
  const size = x.shape.map((d, i) => (i === 1 ? 1 : d));
  return tf.squeeze(tf.slice(x, begin, size), [1]);
}

/**
 * The chunked (WY representation + UT transform) form of the gated delta rule in tfjs ops: the training
 * path, differentiable by autodiff (papers/linear_rnn.md §3.2–3.3; fla `naive_chunk_gated_delta_rule`).
 * Per chunk, with γ the chunk-local cumulative log-decay and Γᵢⱼ = e^{γᵢ−γⱼ} (i ≥ j):
 *   A = tril(diag(β) K Kᵀ ⊙ Γ, −1),  T = (I + A)⁻¹,  W = T diag(β e^γ) K,  U = T diag(β) V,
 *   V' = U − W S,  O = s (Q ⊙ e^γ) S + (s Q Kᵀ ⊙ Γ ⊙ M) V',  S ← e^{γ_C} S + (K ⊙ e^{γ_C−γ})ᵀ V'.
 * L not a multiple of `chunkSize` is zero-padded (β = 0 and g = 0 there, so padding changes nothing).
 * A log-decay below RESET_BELOW (−∞ included) is a reset (reset.ts): Γ, e^γ and e^{γ_C−γ} are 0 across
 * it, as the recurrence's e^g is, instead of the NaN of −∞ − (−∞).
 */
export function deltaRuleChunked(t: DeltaInputs, chunkSize: number, scale: number): DeltaRuleResult {
  return tf.tidy(() => {
    const [batch, heads, length, dk] = t.q.shape as [number, number, number, number];
    const dv = t.v.shape[3] as number;
    const size = Math.min(chunkSize, length);
    const chunks = Math.ceil(length / size);
    const q = toChunks(tf.mul(t.q, scale), chunks, size);
    const k = toChunks(t.k, chunks, size);
    const v = toChunks(t.v, chunks, size);
    const beta = tf.expandDims(toChunks(t.beta, chunks, size), 3);
    const eye = tf.eye(size);
    const lower = tf.linalg.bandPart(tf.ones([size, size]), -1, 0);
    const strict = tf.sub(lower, eye);

    // Γ ⊙ M and e^γ; the upper triangle is zeroed before exp so that e^{γᵢ−γⱼ} (i < j) cannot overflow
    // (a multiply, not tf.where: where's gradient tiles the rank-5 mask, which WebGPU reads back)
    let decayLower: Tensor = lower;
    let decayIn: Tensor | undefined;
    let decayOut: Tensor | undefined;
    let chunkDecay: Tensor | undefined;
    if (t.g !== undefined) {
      const g = toChunks(t.g, chunks, size);
      // 1 at a reset, else 0 (NaN stays NaN); tf.step, whose gradient is 0, where a comparison has none
      const reset = tf.step(tf.sub(RESET_BELOW, g));
      // γ' sums the log-decays that are not resets: clamped first, so that no −∞ meets the 0 of the mask
      const gamma = cumsumLast(tf.mul(tf.maximum(g, RESET_BELOW), tf.sub(1, reset)));
      // the reset count tells whether one lies between two tokens
      const count = cumsumLast(reset);
      // 1 where two counts agree (no reset between the tokens), 0 where they differ
      const agree = (a: Tensor, b: Tensor): Tensor => tf.sub(1, tf.minimum(tf.abs(tf.sub(a, b)), 1));
      const diff = tf.sub(tf.expandDims(gamma, 3), tf.expandDims(gamma, 2));
      const unbroken = agree(tf.expandDims(count, 3), tf.expandDims(count, 2));
      decayLower = tf.mul(tf.mul(tf.exp(tf.mul(diff, lower)), lower), unbroken);
      decayIn = tf.expandDims(tf.mul(tf.exp(gamma), agree(count, tf.zerosLike(count))), 3);
      const last = tf.slice(gamma, [0, 0, size - 1], [-1, -1, 1]);
      const lastCount = tf.slice(count, [0, 0, size - 1], [-1, -1, 1]);
      decayOut = tf.expandDims(tf.mul(tf.exp(tf.sub(last, gamma)), agree(lastCount, count)), 3);
      chunkDecay = tf.mul(tf.exp(last), agree(lastCount, tf.zerosLike(lastCount)));
    }

    const a = tf.mul(tf.mul(beta, tf.matMul(k, k, false, true)), tf.mul(decayLower, strict));
    const inverse = unitLowerInverse(a, size);
    const kBeta = decayIn === undefined ? tf.mul(k, beta) : tf.mul(k, tf.mul(beta, decayIn));
    const w = tf.matMul(inverse, kBeta);
    const u = tf.matMul(inverse, tf.mul(v, beta));
    const intra = tf.mul(tf.matMul(q, k, false, true), decayLower);
    const qIn = decayIn === undefined ? q : tf.mul(q, decayIn);
    const kOut = decayOut === undefined ? k : tf.mul(k, decayOut);
    const carry = chunkDecay === undefined ? undefined : tf.expandDims(chunkDecay, 3);

    let state = tf.reshape(t.state, [batch * heads, dk, dv]);
    const outputs: Tensor[] = [];
    for (let n = 0; n < chunks; n++) {
      const vNew = tf.sub(chunkAt(u, n), tf.matMul(chunkAt(w, n), state));
      outputs.push(tf.add(tf.matMul(chunkAt(qIn, n), state), tf.matMul(chunkAt(intra, n), vNew)));
      const kept = carry === undefined ? state : tf.mul(state, chunkAt(carry, n));
      state = tf.add(kept, tf.matMul(chunkAt(kOut, n), vNew, true, false));
    }
    const output = tf.slice(tf.reshape(tf.stack(outputs, 1), [batch, heads, chunks * size, dv]), [0, 0, 0, 0], [-1, -1, length, -1]);
    return { output, finalState: tf.reshape(state, [batch, heads, dk, dv]) };
  });
}
