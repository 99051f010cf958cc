import type { HostTensor } from '@tessera/tensor-core';
import { RESET_BELOW } from './reset.js';

/**
 * The (gated) delta rule on the host, token by token in float64: fla's naive recurrence
 * (papers/linear_rnn.md §3.1, reference.ts), S̄ = e^{g} S, u = β (v − S̄ᵀ k), S' = S̄ + k uᵀ, o = S'ᵀ (scale · q).
 * `q, k: [B, H, L, Dk]`, `v: [B, H, L, Dv]`, `beta, g: [B, H, L]` (`g` absent for the plain rule), `state:
 * [B, H, Dk, Dv]`; a step has no L axis (`step`), as the step ops' inputs. Returns `[output, finalState]`.
 *
 * One sweep over the state per token (state as [Dk][Dv] rows, the Dv loop innermost; `sweep`): the sweep that
 * writes S_t also reads it out, o_t = S_tᵀ(scale·q_t), and accumulates the next token's prediction S_tᵀ k_{t+1}
 * (e^{g_{t+1}} is a scalar, applied when the prediction is used). The recurrence does the O(Dk·Dv) work per
 * token that the chunked form does, without its O(C) extra terms; on a CPU no chunking pays for itself.
 *
 * A log-decay below RESET_BELOW (−∞ included) resets the state as e^g does in float32 (reset.ts; float64's e^g
 * would not reach 0 until −745). The decay multiplies, so a NaN or ∞ already in the state stays NaN through a
 * reset, as it does in the tfjs forms; a NaN input makes its (b, h) NaN from its token on (the tfjs chunked
 * form: from its chunk on).
 */
export function deltaRuleHost(
  t: { q: HostTensor; k: HostTensor; v: HostTensor; beta: HostTensor; g?: HostTensor | undefined; state: HostTensor },
  scale: number,
  step: boolean,
): [HostTensor, HostTensor] {
  if (step) return deltaStepHost(t, scale);
  const shape = t.q.shape;
  const batchHeads = (shape[0] as number) * (shape[1] as number);
  const length = shape[2] as number;
  const dk = shape[shape.length - 1] as number;
  const dv = t.v.shape[t.v.shape.length - 1] as number;
  const q = t.q.values;
  const k = t.k.values;
  const v = t.v.values;
  const beta = t.beta.values;
  const g = t.g?.values;
  const state0 = t.state.values;
  const output = new Float32Array(batchHeads * length * dv);
  const finalState = new Float32Array(batchHeads * dk * dv);
  const size = dk * dv;
  const s = new Float64Array(size);
  const u = new Float64Array(dv);
  const o = new Float64Array(dv);
  // S_{t−1}ᵀ k_t, undecayed
  const predicted = new Float64Array(dv);
  // this token's k and scale·q, the next token's k (zeros after the last)
  const kt = new Float64Array(dk);
  const qt = new Float64Array(dk);
  const kn = new Float64Array(dk);
  for (let bh = 0; bh < batchHeads; bh++) {
    const stateAt = bh * size;
    for (let e = 0; e < size; e++) s[e] = state0[stateAt + e] as number;
    const tokens = bh * length;
    predicted.fill(0);
    for (let i = 0; i < dk; i++) {
      const ki = k[tokens * dk + i] as number;
      const row = i * dv;
      for (let j = 0; j < dv; j++) predicted[j] = (predicted[j] as number) + ki * (s[row + j] as number);
    }
    for (let l = 0; l < length; l++) {
      const token = tokens + l;
      let decay = 1;
      if (g !== undefined) {
        const logDecay = g[token] as number;
        decay = logDecay < RESET_BELOW ? 0 : Math.exp(logDecay);
      }
      const b = beta[token] as number;
      const vAt = token * dv;
      for (let j = 0; j < dv; j++) {
        u[j] = b * ((v[vAt + j] as number) - decay * (predicted[j] as number));
        o[j] = 0;
        predicted[j] = 0;
      }
      const kAt = token * dk;
      const hasNext = l + 1 < length;
      for (let i = 0; i < dk; i++) {
        kt[i] = k[kAt + i] as number;
        qt[i] = scale * (q[kAt + i] as number);
        kn[i] = hasNext ? (k[kAt + dk + i] as number) : 0;
      }
      sweep(s, u, o, predicted, kt, qt, kn, decay, dk, dv);
      output.set(o, vAt);
    }
    finalState.set(s, stateAt);
  }
  return [
    { shape: [...shape.slice(0, 3), dv], dtype: 'float32', values: output },
    { shape: [...t.state.shape], dtype: 'float32', values: finalState },
  ];
}

/**
 * One token with no L axis: the sweep of `deltaRuleHost` reading the input state and writing the output state
 * (float32 both, as the tfjs step keeps it) with float64 arithmetic, and no prediction for a next token. Two
 * passes over the state per (b, h), S ᵀk and the update, where the sequence path's copies in and out would double that.
 */
function deltaStepHost(
  t: { q: HostTensor; k: HostTensor; v: HostTensor; beta: HostTensor; g?: HostTensor | undefined; state: HostTensor },
  scale: number,
): [HostTensor, HostTensor] {
  const [batch, heads, dk] = t.q.shape as [number, number, number];
  const dv = t.v.shape[2] as number;
  const batchHeads = batch * heads;
  const q = t.q.values;
  const k = t.k.values;
  const v = t.v.values;
  const beta = t.beta.values;
  const g = t.g?.values;
  const state0 = t.state.values as Float32Array;
  const output = new Float32Array(batchHeads * dv);
  const finalState = new Float32Array(batchHeads * dk * dv);
  const size = dk * dv;
  const u = new Float64Array(dv);
  const o = new Float64Array(dv);
  const kt = new Float64Array(dk);
  const qt = new Float64Array(dk);
  for (let bh = 0; bh < batchHeads; bh++) {
    const at = bh * size;
    for (let i = 0; i < dk; i++) {
      kt[i] = k[bh * dk + i] as number;
      qt[i] = scale * (q[bh * dk + i] as number);
    }
    // u holds Sᵀk first
    u.fill(0);
    let i = 0;
    for (; i + 3 < dk; i += 4) {
      const r0 = at + i * dv;
      const r1 = r0 + dv;
      const r2 = r1 + dv;
      const r3 = r2 + dv;
      const k0 = kt[i] as number;
      const k1 = kt[i + 1] as number;
      const k2 = kt[i + 2] as number;
      const k3 = kt[i + 3] as number;
      for (let j = 0; j < dv; j++) {
        u[j] =
          (u[j] as number) +
          k0 * (state0[r0 + j] as number) +
          k1 * (state0[r1 + j] as number) +
          k2 * (state0[r2 + j] as number) +
          k3 * (state0[r3 + j] as number);
      }
    }
    for (; i < dk; i++) {
      const row = at + i * dv;
      const ki = kt[i] as number;
      for (let j = 0; j < dv; j++) u[j] = (u[j] as number) + ki * (state0[row + j] as number);
    }
    let decay = 1;
    if (g !== undefined) {
      const logDecay = g[bh] as number;
      decay = logDecay < RESET_BELOW ? 0 : Math.exp(logDecay);
    }
    const b = beta[bh] as number;
    for (let j = 0; j < dv; j++) {
      u[j] = b * ((v[bh * dv + j] as number) - decay * (u[j] as number));
      o[j] = 0;
    }
    i = 0;
    for (; i + 3 < dk; i += 4) {
      const r0 = at + i * dv;
      const r1 = r0 + dv;
      const r2 = r1 + dv;
      const r3 = r2 + dv;
      const k0 = kt[i] as number;
      const k1 = kt[i + 1] as number;
      const k2 = kt[i + 2] as number;
      const k3 = kt[i + 3] as number;
      const q0 = qt[i] as number;
      const q1 = qt[i + 1] as number;
      const q2 = qt[i + 2] as number;
      const q3 = qt[i + 3] as number;
      for (let j = 0; j < dv; j++) {
        const uj = u[j] as number;
        // o reads the state as stored (float32), as the tfjs step's does
        const x0 = Math.fround(decay * (state0[r0 + j] as number) + k0 * uj);
        const x1 = Math.fround(decay * (state0[r1 + j] as number) + k1 * uj);
        const x2 = Math.fround(decay * (state0[r2 + j] as number) + k2 * uj);
        const x3 = Math.fround(decay * (state0[r3 + j] as number) + k3 * uj);
        finalState[r0 + j] = x0;
        finalState[r1 + j] = x1;
        finalState[r2 + j] = x2;
        finalState[r3 + j] = x3;
        o[j] = (o[j] as number) + q0 * x0 + q1 * x1 + q2 * x2 + q3 * x3;
      }
    }
    for (; i < dk; i++) {
      const row = at + i * dv;
      const ki = kt[i] as number;
      const qi = qt[i] as number;
      for (let j = 0; j < dv; j++) {
        const x = Math.fround(decay * (state0[row + j] as number) + ki * (u[j] as number));
        finalState[row + j] = x;
        o[j] = (o[j] as number) + qi * x;
      }
    }
    output.set(o, bh * dv);
  }
  return [
    { shape: [batch, heads, dv], dtype: 'float32', values: output },
    { shape: [batch, heads, dk, dv], dtype: 'float32', values: finalState },
  ];
}

/**
 * One token's sweep over the state: S ← decay·S + k uᵀ, o += Sᵀ q, p += Sᵀ k_next, four rows at a time (u, o
 * and p are loaded and stored once per four rows: 2.5× the one-row loop in V8, which does not vectorise).
 */
function sweep(
  s: Float64Array,
  u: Float64Array,
  o: Float64Array,
  p: Float64Array,
  k: Float64Array,
  q: Float64Array,
  kn: Float64Array,
  decay: number,
  dk: number,
  dv: number,
): void {
  let i = 0;
  for (; i + 3 < dk; i += 4) {
    const r0 = i * dv;
    const r1 = r0 + dv;
    const r2 = r1 + dv;
    const r3 = r2 + dv;
    const k0 = k[i] as number;
    const k1 = k[i + 1] as number;
    const k2 = k[i + 2] as number;
    const k3 = k[i + 3] as number;
    const q0 = q[i] as number;
    const q1 = q[i + 1] as number;
    const q2 = q[i + 2] as number;
    const q3 = q[i + 3] as number;
    const n0 = kn[i] as number;
    const n1 = kn[i + 1] as number;
    const n2 = kn[i + 2] as number;
    const n3 = kn[i + 3] as number;
    for (let j = 0; j < dv; j++) {
      const uj = u[j] as number;
      const x0 = decay * (s[r0 + j] as number) + k0 * uj;
      const x1 = decay * (s[r1 + j] as number) + k1 * uj;
      const x2 = decay * (s[r2 + j] as number) + k2 * uj;
      const x3 = decay * (s[r3 + j] as number) + k3 * uj;
      s[r0 + j] = x0;
      s[r1 + j] = x1;
      s[r2 + j] = x2;
      s[r3 + j] = x3;
      o[j] = (o[j] as number) + q0 * x0 + q1 * x1 + q2 * x2 + q3 * x3;
      p[j] = (p[j] as number) + n0 * x0 + n1 * x1 + n2 * x2 + n3 * x3;
    }
  }
  for (; i < dk; i++) {
    const row = i * dv;
    const ki = k[i] as number;
    const qi = q[i] as number;
    const ni = kn[i] as number;
    for (let j = 0; j < dv; j++) {
      const x = decay * (s[row + j] as number) + ki * (u[j] as number);
      s[row + j] = x;
      o[j] = (o[j] as number) + qi * x;
      p[j] = (p[j] as number) + ni * x;
    }
  }
}
