import { checkDtype, checkShape, describeValue, ShapeError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';

/** Checks that `t` is a float32 image `[h, w, c]` with h, w ≥ `minSize` and c in `channels`. */
export function checkImage(t: Tensor, name: string, channels: readonly number[] | null, minSize = 1): void {
  if (t === null || typeof t !== 'object' || !Array.isArray((t as Tensor).shape)) {
    throw new ShapeError(`${name}: expected an image tensor [h, w, c], received ${describeValue(t)}`);
  }
  checkShape(t, [null, null, null], name);
  checkDtype(t, 'float32', name);
  const [h, w, c] = t.shape as [number, number, number];
  if (h < minSize || w < minSize) {
    throw new ShapeError(`${name}: expected height and width ≥ ${minSize}, received shape [${t.shape.join(', ')}]`);
  }
  if (channels !== null && !channels.includes(c)) {
    throw new ShapeError(`${name}: expected ${channels.join(' or ')} channels, received shape [${t.shape.join(', ')}]`);
  }
}

/** Checks that `a` and `b` are images of one shape. */
export function checkPair(a: Tensor, b: Tensor, minSize = 1): void {
  checkImage(a, 'a', null, minSize);
  checkImage(b, 'b', null, minSize);
  if (a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`b: expected the shape of a [${a.shape.join(', ')}], received [${b.shape.join(', ')}]`);
  }
}
