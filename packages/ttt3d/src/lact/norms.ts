import { type Tensor, tf } from '@tessera/tensor-core';

/**
 * ‖x‖₂ over `axes` (kept as size-1 dims), whose gradient is 0 where the norm is 0 — torch's `norm` backward
 * (what the authors' code differentiates) masks that case; the plain sqrt(Σx²) composite would give 0/0 = NaN there,
 * e.g. for the chunk gradient of an all-zero learning rate.
 */
function normOver(axes: number[]): (x: Tensor) => Tensor {
  return tf.customGrad((...args) => {
    const x = args[0] as Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const n = tf.sqrt(tf.sum(tf.square(x), axes, true));
    save([x, n]);
    return {
      value: n,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [input, norm] = saved as [Tensor, Tensor];
        return tf.mul(dy, tf.divNoNan(input, norm));
      },
    };
  });
}

/** Norm of each column of `[…, R, C]` matrices (over R): `[…, 1, C]`, the authors' `w.norm(dim=1, keepdim=True)` on `[b, R, C]`. */
export const columnNorm = normOver([-2]);

/** Frobenius norm of each `[…, R, C]` matrix: `[…, 1, 1]`, the authors' `X.norm(dim=(1, 2), keepdim=True)`. */
export const frobeniusNorm = normOver([-2, -1]);
