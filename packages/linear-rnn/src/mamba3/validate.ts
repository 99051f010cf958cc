import { checkDtype, checkFiniteSync, checkRange, checkShape, type Dims, ShapeError, type Tensor, ValueError } from '@tessera/tensor-core';
import type { Mamba3Dims, Mamba3State } from './types.js';

/** The WGSL chunk tile holds at most 64 rows (tokens × ranks), so a rank of up to 64 fits one token per tile. */
export const MAX_RANK = 64;

function checkRank(rank: number): number {
  return checkRange(rank, { min: 1, max: MAX_RANK, integer: true }, 'rank');
}

function splitRank(total: number, rank: number, name: string, what: string): number {
  if (total % rank !== 0) {
    throw new ShapeError(`rank: expected a divisor of ${name}'s last dimension ${what} = ${total}, received ${rank}`);
  }
  return total / rank;
}

interface PerTokenTensors {
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  lambda: Tensor;
  theta: Tensor;
  D?: Tensor | undefined;
}

/**
 * Validates the inputs of `mamba3` (`step` false: every per-token tensor has an L axis) or `mamba3Step`
 * (`step` true: no L axis) and returns the sizes. Throws `ShapeError`/`DtypeError`/`ValueError` naming
 * the argument.
 */
export function validateMamba3(inputs: PerTokenTensors, rankOption: number, step: boolean, state?: Mamba3State): Mamba3Dims {
  const { x, dt, A, B, C, lambda, theta, D } = inputs;
  const rank = checkRank(rankOption);
  const seq = step ? [] : ['L'];
  const dims: Dims = {};
  checkShape(x, ['B', 'H', ...seq, 'RP'], 'x', dims);
  checkShape(dt, ['B', 'H', ...seq], 'dt', dims);
  if (A !== null && typeof A === 'object' && Array.isArray(A.shape) && A.shape.length === 1) checkShape(A, ['H'], 'A', dims);
  else checkShape(A, ['B', 'H', ...seq], 'A', dims);
  checkShape(B, ['B', 'H', ...seq, 'RN'], 'B', dims);
  checkShape(C, ['B', 'H', ...seq, 'RN'], 'C', dims);
  checkShape(lambda, ['B', 'H', ...seq], 'lambda', dims);
  checkShape(theta, ['B', 'H', ...seq, 'Nr'], 'theta', dims);
  if (D !== undefined) checkShape(D, ['H'], 'D', dims);
  for (const [name, t] of Object.entries({ x, dt, A, B, C, lambda, theta, D })) if (t !== undefined) checkDtype(t, 'float32', name);
  // NaN/Inf are caught where the data is host-resident (cpu, wasm); WebGPU has no synchronous readback
  for (const [name, t] of Object.entries({ x, dt, A, B, C, lambda, theta, D })) if (t !== undefined) checkFiniteSync(t, name);
  for (const [name, t] of [
    ['x', x],
    ['B', B],
  ] as const) {
    if (t.size === 0) throw new ShapeError(`${name}: expected a non-empty tensor, received shape [${t.shape.join(', ')}]`);
  }
  const rp = dims.RP as number;
  const rn = dims.RN as number;
  const headDim = splitRank(rp, rank, 'x', 'R·P');
  const stateDim = splitRank(rn, rank, 'B', 'R·N');
  if (stateDim % 2 !== 0) {
    throw new ShapeError(
      `B: expected an even state size N (rotations act on pairs), received N = ${stateDim} (shape [${B.shape.join(', ')}], rank ${rank})`,
    );
  }
  const angles = dims.Nr as number;
  if (angles < 1 || angles > stateDim / 2) {
    throw new ShapeError(
      `theta: expected 1 ≤ Nr ≤ N/2 = ${stateDim / 2} angles in the last dimension, received shape [${theta.shape.join(', ')}]`,
    );
  }
  const out: Mamba3Dims = {
    batch: dims.B as number,
    heads: dims.H as number,
    length: step ? 1 : (dims.L as number),
    rank,
    headDim,
    stateDim,
    angles,
  };
  if (state !== undefined) validateState(state, out, step ? 'state' : 'initialState');
  return out;
}

/** Checks a `Mamba3State` against the sizes of the call it is passed to. */
export function validateState(state: Mamba3State, d: Mamba3Dims, name: string): void {
  if (state === null || typeof state !== 'object') {
    throw new ValueError(`${name}: expected { ssm, k, v, angle }, received ${String(state)}`);
  }
  const { batch: b, heads: h } = d;
  checkShape(state.ssm, [b, h, d.headDim, d.stateDim], `${name}.ssm`);
  checkShape(state.k, [b, h, d.rank * d.stateDim], `${name}.k`);
  checkShape(state.v, [b, h, d.rank * d.headDim], `${name}.v`);
  checkShape(state.angle, [b, h, d.angles], `${name}.angle`);
  for (const key of ['ssm', 'k', 'v', 'angle'] as const) checkDtype(state[key], 'float32', `${name}.${key}`);
}

/** Checks `mode` and `chunkSize` of `mamba3`. */
export function validateChunking(mode: unknown, chunkSize: number): void {
  if (mode !== 'chunk' && mode !== 'recurrent') {
    throw new ValueError(`mode: expected 'chunk' or 'recurrent', received ${JSON.stringify(mode)}`);
  }
  checkRange(chunkSize, { min: 1, integer: true }, 'chunkSize');
}
