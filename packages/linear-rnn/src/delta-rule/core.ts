import { deviceZeros, type Tensor, tf } from '@tessera/tensor-core';
import { deltaRuleChunkOp, deltaRuleStepOp, gatedDeltaRuleChunkOp, gatedDeltaRuleStepOp } from './op.js';
import { deltaRuleReference } from './reference.js';
import { MAX_KERNEL_DK } from './tile.js';
import type { DeltaInputs, DeltaRuleResult, DeltaStepResult } from './types.js';
import type { ResolvedOptions } from './validate.js';

/**
 * Runs validated inputs through the chosen form: the per-token reference ('recurrent') or the chunked
 * op ('chunk': WGSL on WebGPU for Dk ≤ MAX_KERNEL_DK, the host recurrence on cpu and wasm, the tfjs chunked
 * form elsewhere). With `g` the
 * rule is gated. Shared by `deltaRule`, `gatedDeltaRule` and `efla`.
 */
export function runDeltaSequence(t: DeltaInputs, opts: ResolvedOptions): DeltaRuleResult {
  if (opts.mode === 'recurrent') return deltaRuleReference(t, opts.scale);
  return tf.tidy(() => {
    // the Dk limit is the WGSL kernels' (workgroup memory); the host kernel takes any Dk
    const useOp = (t.q.shape[3] as number) <= MAX_KERNEL_DK || tf.getBackend() !== 'webgpu';
    const attrs = { chunkSize: opts.chunkSize, scale: opts.scale };
    const { q, k, v, beta, state } = t;
    let outputs: Tensor[];
    if (t.g === undefined) {
      const op = deltaRuleChunkOp;
      outputs = useOp ? op({ q, k, v, beta, state }, attrs) : op.reference({ q, k, v, beta, state }, attrs);
    } else {
      const op = gatedDeltaRuleChunkOp;
      const g = t.g;
      outputs = useOp ? op({ q, k, v, beta, g, state }, attrs) : op.reference({ q, k, v, beta, g, state }, attrs);
    }
    const [output, finalState] = outputs as [Tensor, Tensor];
    return { output, finalState };
  });
}

/** One decode token of validated inputs (no L axis): WGSL on WebGPU, the host step on cpu and wasm, the tfjs step elsewhere. */
export function runDeltaStep(t: DeltaInputs, scale: number): DeltaStepResult {
  return tf.tidy(() => {
    const attrs = { chunkSize: 1, scale };
    const { q, k, v, beta, state } = t;
    const [output, finalState] = (
      t.g === undefined ? deltaRuleStepOp({ q, k, v, beta, state }, attrs) : gatedDeltaRuleStepOp({ q, k, v, beta, g: t.g, state }, attrs)
    ) as [Tensor, Tensor];
    return { output, finalState };
  });
}

/** The user's state, or zeros `[B, H, Dk, Dv]` (sizes from q's and v's last axes: sequences and steps alike). */
export function stateOrZeros(state: Tensor | undefined, q: Tensor, v: Tensor): Tensor {
  if (state !== undefined) return state;
  const [b, h] = q.shape as [number, number];
  return deviceZeros([b, h, q.shape[q.rank - 1] as number, v.shape[v.rank - 1] as number]);
}
