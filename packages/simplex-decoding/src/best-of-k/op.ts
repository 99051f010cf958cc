import { defineOp, scalarUniforms, splitRowChunk } from '@tessera/tensor-core';
import { logSpaceRows } from './log-space.js';
import { MAX_FUSED_R } from './radix-select.wgsl.js';
import { chunkRecordWidth, TopRChunkProgram } from './top-r-chunk.program.js';
import { TopRMergeProgram } from './top-r-merge.program.js';
import { TopRWriteProgram } from './top-r-write.program.js';

/** Settings of the fused path, with the step size η resolved. */
export interface TopRAttrs {
  k: number;
  lambda: number;
  betaBar: number;
  eta: number;
  steps: number;
  temperature: number;
  r: number;
}

/** The most steps the power-sum pass keeps in registers; more (rare: the paper uses 5) take the general path. */
export const MAX_FUSED_STEPS = 16;

/**
 * Whether the fused path computes these settings: r ≤ 256 (the weighted list lives in workgroup memory),
 * 1 ≤ J ≤ 16, and ηλ ≤ 1 — the default η = 1/L always satisfies it; beyond it the off-R exponents a_j can
 * turn negative and the power sums' fixed shift would overflow.
 */
export function fusedTopRApplies({ eta, lambda, steps, r }: TopRAttrs): boolean {
  return r <= MAX_FUSED_R && steps >= 1 && steps <= MAX_FUSED_STEPS && eta * lambda <= 1;
}

/**
 * The chunk lives in registers (chunk/256 floats per thread), so it is capped lower than softmax's: on the
 * H100, 256×131072 took 1.68 ms with 8192-element chunks (32 floats per thread) and 0.67 ms with 4096.
 */
const MAX_REGISTER_CHUNK = 4096;

/**
 * Best-of-K with 'uniform-top-r' weights (arXiv 2602.18292, Algorithm 1, w = 1 on the r most probable
 * tokens): `x: [B, V]` logits → q `[B, V]`. Off the weighted set R a mirror step is affine in log p
 * (log q_j = a_j log p + c_j), so the J steps reduce to J power sums Σ_{v∉R} p(v)^{a_j} and the explicit
 * iteration of the ≤ r weighted tokens. On WebGPU, three dispatches: per (row, chunk) the softmax
 * statistics, the chunk's candidates for R (radix select in registers) and its power sums (1 read);
 * per row the merge of the candidates into x_r and R, and the J steps on R (reads only the chunk
 * records); per (row, chunk) the write of q (1 read, 1 write). That is softmax's traffic — 2 reads and
 * 1 write of `[B, V]` — against 3 + 6J + 1 passes in 3J + 4 dispatches for the general path.
 * Elsewhere the reference: the general log-space iteration.
 * Requires `fusedTopRApplies(attrs)`.
 */
export const bokTopROp = defineOp<'x', TopRAttrs>({
  kernelName: 'TesseraBestOfKTopR',
  inputs: ['x'],
  reference: ({ x }, { k, lambda, betaBar, eta, steps, temperature, r }) =>
    logSpaceRows(x, {
      k,
      lambda,
      beta: lambda === 0 ? 0 : betaBar / lambda,
      betaBar,
      eta,
      steps,
      temperature,
      r,
      weights: 'uniform-top-r',
    }),
  webgpu: ({ inputs, attrs, run, dispose }) => {
    const { x } = inputs;
    const [rows, cols] = x.shape as [number, number];
    const { k, lambda, betaBar, eta, steps, temperature, r } = attrs;
    const chunk = splitRowChunk(rows, cols, MAX_REGISTER_CHUNK);
    const chunks = Math.ceil(cols / chunk);
    const recordWidth = chunkRecordWidth(steps, r);
    const invT = 1 / temperature;
    const decay = 1 - eta * lambda;
    const gain = eta * (1 + lambda);
    const records = run(new TopRChunkProgram(rows, chunk, chunks, steps, r), [x], 'float32', [
      ...scalarUniforms('int32', [cols, chunks, r, steps, recordWidth]),
      ...scalarUniforms('float32', [invT, decay, gain]),
    ]);
    const step = scalarUniforms('float32', [invT, lambda, eta, betaBar * k, k - 1, decay, gain]);
    const solved = run(new TopRMergeProgram(rows, steps), [records], 'float32', [
      ...scalarUniforms('int32', [chunks, r, steps, recordWidth]),
      ...step,
    ]);
    dispose(records);
    const q = run(new TopRWriteProgram(rows, cols, chunks), [x, solved], 'float32', [
      ...scalarUniforms('int32', [cols, chunk, chunks, steps]),
      ...step,
    ]);
    dispose(solved);
    return q;
  },
});
