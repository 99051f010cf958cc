import { type Tensor, tf } from '@tessera/tensor-core';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * `x` as a new tensor sharing its data but not its autodiff history: what tfjs lacks as stopGradient.
 * Masks are constants for gradients (papers/sparse.md A.2), and tfjs requires a gradient from every
 * kernel on a path between a differentiated input and the loss, so mask builders work on detached q, k
 * or scores. The data's reference count is raised as tfjs' own reshape does, so disposing either tensor
 * leaves the other intact; the caller owns (and disposes) the result like any tensor.
 */
export function detach(x: Tensor): Tensor {
  const engine = tf.engine();
  const t = engine.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype });
  (engine.backend as unknown as RefCountingBackend).incRef(x.dataId);
  return t;
}
