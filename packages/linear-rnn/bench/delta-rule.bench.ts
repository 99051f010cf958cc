import { philoxUniform, tf } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench } from '@tessera/tensor-core/bench';
import { deltaRuleChunked } from '../src/delta-rule/chunk.js';
import { deltaRule, deltaRuleStep } from '../src/delta-rule/index.js';
import { deltaRuleChunkOp, deltaRuleStepOp, gatedDeltaRuleChunkOp, gatedDeltaRuleStepOp } from '../src/delta-rule/op.js';
import { deltaRuleReference, deltaStepReference } from '../src/delta-rule/reference.js';
import { chunkTile } from '../src/delta-rule/tile.js';
import { gatedDeltaRule, gatedDeltaRuleStep } from '../src/gated-delta-rule/index.js';

/** The recurrent reference dispatches ~10 tfjs ops per token; beyond this length one call takes minutes. */
const MAX_RECURRENT_L = 4096;

/**
 * FLOPs of the three-pass chunked forward per (b, h), chunk length C (a multiply-add counts 2; triangular
 * products count their nonzero half):
 *   prepare  A = tril(β K Kᵀ, −1): C²·K;  T = (I + A)⁻¹ by substitution: C³/3;  W = T βK: C²·K;  U = T βV: C²·V
 *   state    V' = U − W S: 2C·K·V;  S += Kᵀ V': 2C·K·V
 *   output   tril(Q Kᵀ): C²·K;  Q S: 2C·K·V;  tril(P) V': C²·V
 * so per token C(3K + 2V) + C²/3 + 6K·V (46.4 kFLOP at C = K = V = 64; the old single-pass kernel,
 * which solved for V' inside the sequential loop, did 2C(K + V) + 6K·V but C²/2 dependent steps per chunk).
 */
function chunkFlops(b: number, h: number, l: number, k: number, v: number, c: number): number {
  return b * h * l * (c * (3 * k + 2 * v) + (c * c) / 3 + 6 * k * v);
}

/** Least traffic: read q, k, v, β (and g) and the state, write the outputs and the state. */
function chunkBytes(b: number, h: number, l: number, k: number, v: number, gated: boolean): number {
  return 4 * b * h * (l * (2 * k + 2 * v + (gated ? 2 : 1)) + 2 * k * v);
}

/** The per-token reference on cpu and wasm: ~2 s a call at L = 1024 there. */
const MAX_RECURRENT_L_HOST = 256;

/**
 * DeltaNet and Gated DeltaNet forward: the WGSL chunked kernel (on WebGPU; EFLA runs the same kernel) or the
 * host recurrence (cpu, wasm) against the tfjs chunked composite and the tfjs per-token reference; and
 * one-token decode steps. On cpu and wasm the shapes are a small model's (H = 4, Dk = Dv = 64, L ≤ 1024,
 * steps at batch 1 and 16), whatever the size, and `ours` is the op with its host kernel, called directly: the
 * public functions also scan every input for NaN there (a copy of each on wasm), the same cost whichever form
 * runs, which would blur the ratio. An op without a host kernel on the backend is skipped.
 */
export default defineBench({
  name: 'delta-rule',
  async run({ backend, size, log }) {
    const host = backend === 'cpu' || backend === 'wasm';
    const [heads, dk, dv] = host || size === 'full' ? [host ? 4 : 8, 64, 64] : [2, 32, 32];
    const lengths = host ? [256, 1024] : size === 'full' ? [1024, 4096, 16384] : [256, 512];
    const maxRecurrent = host ? MAX_RECURRENT_L_HOST : MAX_RECURRENT_L;
    const batches = host ? [1, 16] : [1, 64];
    const rows: BenchRow[] = [];
    // the per-token references dispatch tens of thousands of tiny programs; they run after every other
    // measurement, as what they leave behind in the driver slowed measurements taken after them
    const recurrent: Array<() => Promise<void>> = [];
    for (const gated of [false, true]) {
      const name = gated ? 'gatedDeltaRule' : 'deltaRule';
      for (const l of lengths) {
        const shape = `1x${heads}x${l}x${dk}x${dv}`;
        const q = philoxUniform([1, heads, l, dk], { seed: 1, low: -1, high: 1 });
        const k = tf.tidy(() => {
          const raw = philoxUniform([1, heads, l, dk], { seed: 2, low: -1, high: 1 });
          return tf.div(raw, tf.norm(raw, 'euclidean', -1, true));
        });
        const v = philoxUniform([1, heads, l, dv], { seed: 3, low: -1, high: 1 });
        const beta = philoxUniform([1, heads, l], { seed: 4, low: 0.1, high: 0.9 });
        const g = philoxUniform([1, heads, l], { seed: 5, low: -0.1, high: 0 });
        const state = tf.zeros([1, heads, dk, dv]);
        const inputs = { q, k, v, beta, g: gated ? g : undefined, state };
        const scale = 1 / Math.sqrt(dk);
        const extras = {
          flops: chunkFlops(1, heads, l, dk, dv, chunkTile(heads, dk, dv, 64, l).chunk),
          bytes: chunkBytes(1, heads, l, dk, dv, gated),
        };
        const op = gated ? gatedDeltaRuleChunkOp : deltaRuleChunkOp;
        if (host && !op.hasKernel()) {
          log(`${name} ${shape}: no host kernel on ${backend}`);
          tf.dispose([q, k, v, beta, g, state]);
          continue;
        }
        log(`${name} ${shape}`);
        const workload = host ? `${name} host kernel` : name;
        const ours = await bench(workload, () =>
          host
            ? gated
              ? gatedDeltaRuleChunkOp({ q, k, v, beta, g, state }, { chunkSize: 64, scale })
              : deltaRuleChunkOp({ q, k, v, beta, state }, { chunkSize: 64, scale })
            : gated
              ? gatedDeltaRule(q, k, v, beta, g)
              : deltaRule(q, k, v, beta),
        );
        const composite = await bench('tfjs chunked', () => deltaRuleChunked(inputs, 64, scale));
        rows.push(compare(workload, shape, 'tfjs chunked (C=64)', composite, ours, extras));
        if (l <= maxRecurrent) {
          const at = rows.length;
          recurrent.push(async () => {
            const base = await bench('tfjs recurrent', () => deltaRuleReference(inputs, scale), { warmup: 1, warmupMs: 0, rounds: 3 });
            rows.splice(at, 0, compare(workload, shape, 'tfjs recurrent', base, ours, extras));
            tf.dispose([q, k, v, beta, g, state]);
          });
        } else {
          log(`${name} ${shape}: tfjs recurrent reference skipped (L > ${maxRecurrent}: minutes per call)`);
          tf.dispose([q, k, v, beta, g, state]);
        }
      }
      for (const batch of batches) {
        const shape = `${batch}x${heads}x1x${dk}x${dv}`;
        const q = philoxUniform([batch, heads, dk], { seed: 6, low: -1, high: 1 });
        const k = tf.tidy(() => {
          const raw = philoxUniform([batch, heads, dk], { seed: 7, low: -1, high: 1 });
          return tf.div(raw, tf.norm(raw, 'euclidean', -1, true));
        });
        const v = philoxUniform([batch, heads, dv], { seed: 8, low: -1, high: 1 });
        const beta = philoxUniform([batch, heads], { seed: 9, low: 0.1, high: 0.9 });
        const g = philoxUniform([batch, heads], { seed: 10, low: -0.1, high: 0 });
        const state = philoxUniform([batch, heads, dk, dv], { seed: 11, low: -0.1, high: 0.1 });
        const scale = 1 / Math.sqrt(dk);
        const op = gated ? gatedDeltaRuleStepOp : deltaRuleStepOp;
        const stepName = host ? `${name}Step host kernel` : `${name}Step`;
        if (host && !op.hasKernel()) {
          log(`${stepName} ${shape}: no host kernel on ${backend}`);
          tf.dispose([q, k, v, beta, g, state]);
          continue;
        }
        log(`${stepName} ${shape}`);
        const ours = await bench(stepName, () =>
          host
            ? gated
              ? gatedDeltaRuleStepOp({ q, k, v, beta, g, state }, { chunkSize: 1, scale })
              : deltaRuleStepOp({ q, k, v, beta, state }, { chunkSize: 1, scale })
            : gated
              ? gatedDeltaRuleStep(q, k, v, beta, g, { initialState: state })
              : deltaRuleStep(q, k, v, beta, { initialState: state }),
        );
        const base = await bench('tfjs step', () => deltaStepReference({ q, k, v, beta, g: gated ? g : undefined, state }, scale));
        rows.push(
          compare(stepName, shape, 'tfjs step', base, ours, {
            // read and write the state, read q, k, v, β (g); 6·K·V flops: S̄ᵀk, the rank-1 update, S'ᵀq
            bytes: 4 * batch * heads * (2 * dk * dv + 2 * dk + 2 * dv + 2),
            flops: 6 * batch * heads * dk * dv,
          }),
        );
        tf.dispose([q, k, v, beta, g, state]);
      }
    }
    // last first, so that each splice index still points where its row belongs
    for (const measure of recurrent.reverse()) await measure();
    return rows;
  },
});
