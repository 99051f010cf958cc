import { checkOptions, checkRange, checkShape, describeValue, DtypeError, type Tensor, ValueError } from '@tessera/tensor-core';

/** The largest block grid side (Nq or Nk) a mask may have: the compaction scans a row per thread. */
export const MAX_BLOCKS = 65536;

/** A `[bq, bk]` pair of positive integer block sizes. */
export function checkBlockSize(value: unknown, name: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new ValueError(`${name}: expected [bq, bk], two positive integers, received ${describeValue(value)}`);
  }
  return [checkBlock(value[0], `${name}[0]`), checkBlock(value[1], `${name}[1]`)];
}

/** One block size: a positive integer. */
export function checkBlock(value: unknown, name: string): number {
  return checkRange(value as number, { min: 1, integer: true }, name);
}

export interface FromDenseOptions {
  /** `[bq, bk]`: tokens per query block and per key block. Default [128, 64]. */
  blockSize?: readonly [number, number];
}

/** Checks `fromDense`'s arguments: a bool or int32 mask `[B, H, Nq, Nk]`, block sizes. */
export function checkFromDense(dense: Tensor, opts: FromDenseOptions | undefined): [number, number] {
  const o = checkOptions(opts, ['blockSize']);
  checkShape(dense, ['B', 'H', 'Nq', 'Nk'], 'dense');
  if (dense.dtype !== 'bool' && dense.dtype !== 'int32') {
    throw new DtypeError(`dense: expected dtype bool or int32 (nonzero = kept), received ${dense.dtype}`);
  }
  if (dense.size === 0) throw new ValueError(`dense: expected a non-empty mask, received shape [${dense.shape.join(', ')}]`);
  for (const axis of [2, 3]) {
    if ((dense.shape[axis] as number) > MAX_BLOCKS) {
      throw new ValueError(`dense: expected at most ${MAX_BLOCKS} blocks per side, received shape [${dense.shape.join(', ')}]`);
    }
  }
  return o.blockSize === undefined ? [128, 64] : checkBlockSize(o.blockSize, 'opts.blockSize');
}
