import { checkDtype, checkFiniteSync, checkRange, checkShape, type Dims, type Tensor, ValueError } from '@tessera/tensor-core';
import { checkChunkSize } from '../checks.js';
import type { DeltaDims, DeltaRuleOptions, DeltaStepOptions } from './types.js';

/** The options `deltaRule` and `gatedDeltaRule` know (checkOptions lists them on a typo). */
export const DELTA_RULE_OPTIONS = ['mode', 'chunkSize', 'initialState', 'scale'] as const satisfies readonly (keyof DeltaRuleOptions)[];

/** The options of the decode steps. */
export const DELTA_STEP_OPTIONS = ['initialState', 'scale'] as const satisfies readonly (keyof DeltaStepOptions)[];

/** Per-call tensors as the user passes them (before the state is defaulted). */
export interface RawDeltaInputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  beta: Tensor;
  g?: Tensor | undefined;
  state?: Tensor | undefined;
}

/** Normalised options of a sequence op. */
export interface ResolvedOptions {
  mode: 'chunk' | 'recurrent';
  chunkSize: number;
  scale: number;
}

/**
 * Checks shapes (B, H, L, Dk, Dv bound across arguments; a disposed tensor is named too), dtypes and,
 * for a step (`step` true), the absence of the L axis. The state is `opts.initialState` in messages,
 * the log-decay `gate.name` (`g`, required, for the gated rule; `opts.g`, optional, for EFLA).
 */
export function validateDeltaInputs(t: RawDeltaInputs, step: boolean, gate?: { name: string; required: boolean }): DeltaDims {
  const gName = gate?.name ?? 'g';
  const stateName = 'opts.initialState';
  const seq = step ? [] : ['L'];
  const dims: Dims = {};
  checkShape(t.q, ['B', 'H', ...seq, 'Dk'], 'q', dims);
  checkShape(t.k, ['B', 'H', ...seq, 'Dk'], 'k', dims);
  checkShape(t.v, ['B', 'H', ...seq, 'Dv'], 'v', dims);
  checkShape(t.beta, ['B', 'H', ...seq], 'beta', dims);
  if (t.g !== undefined || gate?.required) checkShape(t.g as Tensor, ['B', 'H', ...seq], gName, dims);
  if (t.state !== undefined) checkShape(t.state, ['B', 'H', 'Dk', 'Dv'], stateName, dims);
  for (const [name, x] of Object.entries({ q: t.q, k: t.k, v: t.v, beta: t.beta, [gName]: t.g, [stateName]: t.state })) {
    if (x !== undefined) checkDtype(x, 'float32', name);
  }
  // NaN/Inf are caught where the data is host-resident (cpu, wasm); WebGPU has no synchronous readback,
  // and there a NaN stays inside its (batch, head) from its chunk onward (documented in the README).
  for (const [name, x] of Object.entries({ q: t.q, k: t.k, v: t.v, beta: t.beta, [stateName]: t.state })) {
    if (x !== undefined) checkFiniteSync(x, name);
  }
  // g is a log-decay: −∞ (a full reset) is meaningful
  if (t.g !== undefined) checkFiniteSync(t.g, gName, { allowNegInf: true });
  for (const [name, size] of [
    ['B', dims.B],
    ['L', dims.L],
    ['H', dims.H],
    ['Dk', dims.Dk],
    ['Dv', dims.Dv],
  ] as const) {
    if (size === 0) throw new ValueError(`q: expected a non-empty ${name} dimension, received shape [${t.q.shape.join(', ')}]`);
  }
  return {
    batch: dims.B as number,
    heads: dims.H as number,
    length: step ? 1 : (dims.L as number),
    dk: dims.Dk as number,
    dv: dims.Dv as number,
  };
}

/** Checks the scalar options and fills in the defaults (chunk mode, C = 64, scale Dk^−1/2). */
export function resolveOptions(opts: DeltaRuleOptions, dk: number): ResolvedOptions {
  const mode = opts.mode ?? 'chunk';
  if (mode !== 'chunk' && mode !== 'recurrent') {
    throw new ValueError(`opts.mode: expected 'chunk' or 'recurrent', received ${JSON.stringify(mode)}`);
  }
  const chunkSize = checkChunkSize(opts.chunkSize, 'opts.chunkSize');
  return { mode, chunkSize, scale: resolveScale(opts.scale, dk) };
}

/** `scale` when given (finite), otherwise Dk^−1/2. */
export function resolveScale(scale: number | undefined, dk: number): number {
  return scale === undefined ? 1 / Math.sqrt(dk) : checkRange(scale, {}, 'opts.scale');
}
