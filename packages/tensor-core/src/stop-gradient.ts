import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from './tf.js';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * `x` as a new tensor sharing its data but not its autodiff history: torch's `.detach()`, which tfjs
 * lacks. Nothing is recorded on the gradient tape, so no gradient (not even a zero one) is computed
 * through it, and the ops that produced `x` need no gradient function. The data's reference count is
 * raised as tfjs' own reshape does, so disposing either tensor leaves the other intact; the caller owns
 * (and disposes) the result like any tensor.
 */
export function stopGradient(x: Tensor): Tensor {
  const engine = tf.engine();
  const t = engine.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype });
  (engine.backend as unknown as RefCountingBackend).incRef(x.dataId);
  return t;
}
