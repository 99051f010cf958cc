import { describeValue, ShapeError, ValueError } from '@tessera/tensor-core';
import { BlockMask } from '../block-mask/index.js';
import type { QkvDims } from '../flash/validate.js';

/** The mask is a live BlockMask whose grid covers q and k: `[B, H, ⌈Lq/bq⌉, ⌈Lk/bk⌉]`. */
export function checkMask(mask: unknown, dims: QkvDims, name = 'mask'): BlockMask {
  if (!(mask instanceof BlockMask)) {
    throw new ValueError(`${name}: expected a BlockMask (BlockMask.fromDense, hybridMask, …), received ${describeValue(mask)}`);
  }
  if (mask.isDisposed) throw new ValueError(`${name}: expected a live BlockMask, received a disposed one`);
  const [bq, bk] = mask.blockSize;
  const want = [dims.batch, dims.heads, Math.ceil(dims.lq / bq), Math.ceil(dims.lk / bk)];
  const got = mask.shape;
  if (got.some((n, i) => n !== want[i])) {
    throw new ShapeError(
      `${name}: expected a block grid [B, H, ⌈Lq/bq⌉, ⌈Lk/bk⌉] = [${want.join(', ')}] for q [${dims.batch}, ${dims.heads}, ${dims.lq}, ${dims.d}], k length ${dims.lk} and block size [${bq}, ${bk}], received [${got.join(', ')}]`,
    );
  }
  return mask;
}
