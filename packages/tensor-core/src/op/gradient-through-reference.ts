import type { Tensor } from '@tensorflow/tfjs-core';
import { checkFunction } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { tf } from '../tf.js';
import type { GradientSpec, OpOutput } from './define-op.js';
import { vjp } from './vjp.js';

/**
 * The gradient of a kernel taken through its differentiable tfjs form: the WGSL (or host) forward runs
 * in training while tfjs autodiff of `reference` — the form the kernel is tested against — supplies the
 * backward pass. For several outputs the cotangents are combined as Σᵢ Σ outᵢ ⊙ dyᵢ (tfjs passes zeros
 * for an output that does not reach the loss). Every input in `names` is saved and receives a gradient.
 */
/**
 * Marks a gradient spec made by `gradientThroughReference`: its backward runs the reference forward again, so under a
 * gradient tape on a host backend `defineOp` runs the reference in the forward instead (see there).
 */
export const THROUGH_REFERENCE = Symbol.for('tessera.gradientThroughReference');

export function gradientThroughReference<I extends string, A, R extends OpOutput = Tensor>(
  names: readonly I[],
  reference: (inputs: Record<I, Tensor>, attrs: A) => R,
): GradientSpec<I, A, R> {
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) {
    throw new ValueError(`names: expected an array of input names, received ${describeValue(names)}`);
  }
  checkFunction(reference, 'reference');
  const spec: GradientSpec<I, A, R> = {
    inputsToSave: names,
    grad: (dy, saved, attrs) => {
      const named = (xs: readonly Tensor[]) => Object.fromEntries(names.map((n, i) => [n, xs[i] as Tensor])) as Record<I, Tensor>;
      const grads = tf.tidy(() => {
        if (!Array.isArray(dy)) return vjp((...xs) => reference(named(xs), attrs) as Tensor, saved, dy as Tensor);
        const cotangents = dy as Tensor[];
        const weighted = (...xs: Tensor[]): Tensor => {
          const outs = reference(named(xs), attrs) as Tensor[];
          return tf.addN(outs.map((out, i) => tf.sum(tf.mul(out, cotangents[i] as Tensor))));
        };
        return vjp(weighted, saved, tf.scalar(1));
      });
      return Object.fromEntries(names.map((n, i) => [n, () => grads[i] as Tensor])) as Partial<Record<I, () => Tensor>>;
    },
  };
  return Object.assign(spec, { [THROUGH_REFERENCE]: true as const });
}
