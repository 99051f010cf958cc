import {
  checkDtype,
  checkFiniteSync,
  checkRange,
  checkShape,
  type Dims,
  describeValue,
  ShapeError,
  type Tensor,
  ValueError,
} from '@tessera/tensor-core';
import { checkChunkSize } from '../checks.js';
import type { Mamba3Dims, Mamba3Mode, Mamba3Options, Mamba3State, Mamba3StepOptions } from './types.js';

/** The WGSL chunk tile holds at most 64 rows (tokens × ranks), so a rank of up to 64 fits one token per tile. */
export const MAX_RANK = 64;

/** The options `mamba3` knows (checkOptions lists them on a typo). */
export const MAMBA3_OPTIONS = [
  'lambda',
  'theta',
  'D',
  'rank',
  'mode',
  'chunkSize',
  'initialState',
] as const satisfies readonly (keyof Mamba3Options)[];

/** The options `mamba3Step` knows. */
export const MAMBA3_STEP_OPTIONS = ['lambda', 'theta', 'D', 'rank', 'initialState'] as const satisfies readonly (keyof Mamba3StepOptions)[];

/** A MIMO rank: an integer in [1, MAX_RANK]. */
export function checkRank(rank: number, name: string): number {
  return checkRange(rank, { min: 1, max: MAX_RANK, integer: true }, name);
}

function splitRank(total: number, rank: number, name: string, what: string): number {
  if (total % rank !== 0) {
    throw new ShapeError(`opts.rank: expected a divisor of ${name}'s last dimension ${what} = ${total}, received ${rank}`);
  }
  return total / rank;
}

interface PerTokenTensors {
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  lambda?: Tensor | undefined;
  theta?: Tensor | undefined;
  D?: Tensor | undefined;
}

function isTensorLike(t: unknown): t is Tensor {
  return t !== null && typeof t === 'object' && Array.isArray((t as { shape?: unknown }).shape);
}

/**
 * Validates the inputs of `mamba3` (`step` false: every per-token tensor has an L axis) or `mamba3Step`
 * (`step` true: no L axis) and returns the sizes. Throws `ShapeError`/`DtypeError`/`ValueError` naming
 * the argument (options as `opts.…`); a disposed tensor is named by checkShape.
 */
export function validateMamba3(inputs: PerTokenTensors, rankOption: number | undefined, step: boolean, state?: Mamba3State): Mamba3Dims {
  const { x, dt, A, B, C, lambda, theta, D } = inputs;
  const rank = checkRank(rankOption ?? 1, 'opts.rank');
  const seq = step ? [] : ['L'];
  const dims: Dims = {};
  checkShape(x, ['B', 'H', ...seq, 'RP'], 'x', dims);
  checkShape(dt, ['B', 'H', ...seq], 'dt', dims);
  if (isTensorLike(A) && A.shape.length === 1) checkShape(A, ['H'], 'A', dims);
  else checkShape(A, ['B', 'H', ...seq], 'A', dims);
  checkShape(B, ['B', 'H', ...seq, 'RN'], 'B', dims);
  checkShape(C, ['B', 'H', ...seq, 'RN'], 'C', dims);
  if (lambda !== undefined) checkShape(lambda, ['B', 'H', ...seq], 'opts.lambda', dims);
  if (theta !== undefined) checkShape(theta, ['B', 'H', ...seq, 'Nr'], 'opts.theta', dims);
  if (D !== undefined) checkShape(D, ['H'], 'opts.D', dims);
  const named = { x, dt, A, B, C, 'opts.lambda': lambda, 'opts.theta': theta, 'opts.D': D };
  for (const [name, t] of Object.entries(named)) if (t !== undefined) checkDtype(t, 'float32', name);
  // NaN/Inf are caught where the data is host-resident (cpu, wasm); WebGPU has no synchronous readback
  for (const [name, t] of Object.entries(named)) if (t !== undefined) checkFiniteSync(t, name);
  for (const [name, t] of [
    ['x', x],
    ['B', B],
  ] as const) {
    if (t.size === 0) throw new ShapeError(`${name}: expected a non-empty tensor, received shape [${t.shape.join(', ')}]`);
  }
  const headDim = splitRank(dims.RP as number, rank, 'x', 'R·P');
  const stateDim = splitRank(dims.RN as number, rank, 'B', 'R·N');
  if (stateDim % 2 !== 0) {
    throw new ShapeError(
      `B: expected an even state size N (rotations act on pairs), received N = ${stateDim} (shape [${B.shape.join(', ')}], rank ${rank})`,
    );
  }
  // without theta nothing rotates; the angle state keeps the incoming state's width (or one angle)
  const stateAngles = state !== null && typeof state === 'object' && isTensorLike(state.angle) ? state.angle.shape[2] : undefined;
  const angles = theta !== undefined ? (dims.Nr as number) : (stateAngles ?? 1);
  if (angles < 1 || angles > stateDim / 2) {
    const what =
      theta !== undefined
        ? `opts.theta: expected 1 ≤ Nr ≤ N/2 = ${stateDim / 2} angles in the last dimension, received shape [${theta.shape.join(', ')}]`
        : `opts.initialState.angle: expected 1 ≤ Nr ≤ N/2 = ${stateDim / 2} angles in the last dimension, received ${angles}`;
    throw new ShapeError(what);
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
  if (state !== undefined) validateState(state, out, 'opts.initialState');
  return out;
}

/** Checks a `Mamba3State` against the sizes of the call it is passed to. */
export function validateState(state: Mamba3State, d: Mamba3Dims, name: string): void {
  if (state === null || typeof state !== 'object' || isTensorLike(state)) {
    throw new ValueError(`${name}: expected { ssm, k, v, angle }, received ${describeValue(state)}`);
  }
  const { batch: b, heads: h } = d;
  checkShape(state.ssm, [b, h, d.headDim, d.stateDim], `${name}.ssm`);
  checkShape(state.k, [b, h, d.rank * d.stateDim], `${name}.k`);
  checkShape(state.v, [b, h, d.rank * d.headDim], `${name}.v`);
  checkShape(state.angle, [b, h, d.angles], `${name}.angle`);
  for (const key of ['ssm', 'k', 'v', 'angle'] as const) checkDtype(state[key], 'float32', `${name}.${key}`);
  for (const key of ['ssm', 'k', 'v', 'angle'] as const) checkFiniteSync(state[key], `${name}.${key}`);
}

/** Checks `mode` and `chunkSize` of `mamba3` and fills in their defaults. */
export function validateChunking(mode: unknown, chunkSize: number | undefined): { mode: Mamba3Mode; chunkSize: number } {
  const m = mode ?? 'chunk';
  if (m !== 'chunk' && m !== 'recurrent') {
    throw new ValueError(`opts.mode: expected 'chunk' or 'recurrent', received ${JSON.stringify(m)}`);
  }
  return { mode: m, chunkSize: checkChunkSize(chunkSize, 'opts.chunkSize') };
}
