import {
  checkDtype,
  checkFiniteSync,
  checkRange,
  checkShape,
  describeValue,
  type Dims,
  type Tensor,
  ValueError,
} from '@tessera/tensor-core';
import type { DeltaDims, DeltaRuleOptions } from './types.js';

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
 * Checks shapes (B, H, L, Dk, Dv bound across arguments), dtypes and, for a step (`step` true), the
 * absence of the L axis. The state argument is named `stateName` (`initialState` or `state`).
 */
export function validateDeltaInputs(t: RawDeltaInputs, step: boolean, stateName: string): DeltaDims {
  const seq = step ? [] : ['L'];
  const dims: Dims = {};
  checkShape(t.q, ['B', 'H', ...seq, 'Dk'], 'q', dims);
  checkShape(t.k, ['B', 'H', ...seq, 'Dk'], 'k', dims);
  checkShape(t.v, ['B', 'H', ...seq, 'Dv'], 'v', dims);
  checkShape(t.beta, ['B', 'H', ...seq], 'beta', dims);
  if (t.g !== undefined) checkShape(t.g, ['B', 'H', ...seq], 'g', dims);
  if (t.state !== undefined) checkShape(t.state, ['B', 'H', 'Dk', 'Dv'], stateName, dims);
  for (const [name, x] of Object.entries({ q: t.q, k: t.k, v: t.v, beta: t.beta, g: t.g, [stateName]: t.state })) {
    if (x !== undefined) checkDtype(x, 'float32', name);
  }
  // NaN/Inf are caught where the data is host-resident (cpu, wasm); WebGPU has no synchronous readback,
  // and there a NaN stays inside its (batch, head) from its chunk onward (documented in the README).
  for (const [name, x] of Object.entries({ q: t.q, k: t.k, v: t.v, beta: t.beta, [stateName]: t.state })) {
    if (x !== undefined) checkFiniteSync(x, name);
  }
  // g is a log-decay: −∞ (a full reset) is meaningful
  if (t.g !== undefined) checkFiniteSync(t.g, 'g', { allowNegInf: true });
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

/** `opts` itself checked: an options object (or undefined, meaning defaults). */
export function optionsObject<O extends object>(opts: O | undefined): O {
  if (opts === undefined) return {} as O;
  if (opts === null || typeof opts !== 'object') throw new ValueError(`opts: expected an options object, received ${describeValue(opts)}`);
  return opts;
}

/** Checks the scalar options and fills in the defaults (chunk mode, C = 64, scale Dk^−1/2). */
export function resolveOptions(opts: DeltaRuleOptions, dk: number): ResolvedOptions {
  const mode = opts.mode ?? 'chunk';
  if (mode !== 'chunk' && mode !== 'recurrent') {
    throw new ValueError(`opts.mode: expected 'chunk' or 'recurrent', received ${JSON.stringify(mode)}`);
  }
  const chunkSize = checkRange(opts.chunkSize ?? 64, { min: 1, integer: true }, 'opts.chunkSize');
  return { mode, chunkSize, scale: resolveScale(opts.scale, dk) };
}

/** `scale` when given (finite), otherwise Dk^−1/2. */
export function resolveScale(scale: number | undefined, dk: number): number {
  return scale === undefined ? 1 / Math.sqrt(dk) : checkRange(scale, {}, 'opts.scale');
}
