import { checkRange, checkShape, DtypeError, type Tensor, ValueError } from '@tessera/tensor-core';
import { checkBlock, MAX_BLOCKS } from '../block-mask/index.js';
import { SELECT_MAX_COLS } from './select.program.js';

/** Key blocks per row a mask builder accepts (the selection kernel holds a row in workgroup memory). */
export const MAX_KEY_BLOCKS = SELECT_MAX_COLS;

export interface Grid {
  bq: number;
  bk: number;
  nq: number;
  nk: number;
}

/** Block sizes (positive integers, defaults 128 and 64) and the grid they make over Lq × Lk, within the limits. */
export function checkGrid(bq: number | undefined, bk: number | undefined, lq: number, lk: number): Grid {
  const q = checkBlock(bq ?? 128, 'opts.bq');
  const k = checkBlock(bk ?? 64, 'opts.bk');
  const nq = Math.ceil(lq / q);
  const nk = Math.ceil(lk / k);
  if (nk > MAX_KEY_BLOCKS) {
    throw new ValueError(
      `opts.bk: expected at most ${MAX_KEY_BLOCKS} key blocks per row (⌈Lk/bk⌉), received bk = ${k} for Lk = ${lk} (${nk} blocks)`,
    );
  }
  if (nq > MAX_BLOCKS) {
    throw new ValueError(
      `opts.bq: expected at most ${MAX_BLOCKS} query blocks (⌈Lq/bq⌉), received bq = ${q} for Lq = ${lq} (${nq} blocks)`,
    );
  }
  return { bq: q, bk: k, nq, nk };
}

/** A fraction in (0, 1] (top-k ratio, top-p mass, budget). */
export function checkFraction(value: number, name: string): number {
  return checkRange(value, { min: 0, max: 1, minExclusive: true }, name);
}

/** Block probabilities `[B, H, Nq, Nk]`, float32, non-empty, Nk within `MAX_KEY_BLOCKS`. */
export function checkScores(scores: Tensor): [number, number, number, number] {
  checkShape(scores, ['B', 'H', 'Nq', 'Nk'], 'scores');
  if (scores.dtype !== 'float32') throw new DtypeError(`scores: expected dtype float32, received ${scores.dtype}`);
  if (scores.size === 0) throw new ValueError(`scores: expected a non-empty tensor, received shape [${scores.shape.join(', ')}]`);
  const nk = scores.shape[3] as number;
  if (nk > MAX_KEY_BLOCKS) {
    throw new ValueError(
      `scores: expected at most ${MAX_KEY_BLOCKS} key blocks (last dimension), received shape [${scores.shape.join(', ')}]`,
    );
  }
  if ((scores.shape[2] as number) > MAX_BLOCKS) {
    throw new ValueError(`scores: expected at most ${MAX_BLOCKS} query blocks (dimension 2), received shape [${scores.shape.join(', ')}]`);
  }
  return scores.shape as [number, number, number, number];
}
