import type { Tensor } from '@tensorflow/tfjs-core';
import { checkDtype, checkRange } from '../checks.js';
import { describeValue, ShapeError, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';

/** Options of `softmax` and `logSoftmax`. */
export interface SoftmaxOptions {
  /** T > 0, default 1: the distribution of logits / T (divided in the kernel, no extra pass). T → 0 is the argmax. */
  temperature?: number;
}

const SOFTMAX_OPTIONS = ['temperature'] as const;

/**
 * Checks logits `[B, V]` or `[V]` (a live float32 tensor, B ≥ 1, V ≥ 1) and the options; returns the
 * temperature and whether the input was batched.
 */
export function validateSoftmax(logits: Tensor, opts: SoftmaxOptions | undefined): { temperature: number; batched: boolean } {
  if (logits === null || typeof logits !== 'object' || !Array.isArray((logits as Tensor).shape)) {
    throw new ShapeError(`logits: expected a tensor of shape [B, V] or [V], received ${describeValue(logits)}`);
  }
  if (logits.isDisposed) {
    throw new ValueError(`logits: expected a live tensor, received a disposed Tensor<${logits.dtype}>[${logits.shape.join(', ')}]`);
  }
  const shape = logits.shape;
  if (shape.length !== 1 && shape.length !== 2) {
    throw new ShapeError(`logits: expected shape [B, V] or [V], received rank ${shape.length} [${shape.join(', ')}]`);
  }
  checkDtype(logits, 'float32', 'logits');
  if (logits.size === 0) {
    throw new ShapeError(`logits: expected B ≥ 1 and V ≥ 1, received shape [${shape.join(', ')}]`);
  }
  const o = checkOptions(opts, SOFTMAX_OPTIONS);
  const temperature = checkRange(o.temperature ?? 1, { min: 0, minExclusive: true, hint: 'for temperature 0 use greedy()' }, 'temperature');
  return { temperature, batched: shape.length === 2 };
}
