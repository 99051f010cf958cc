import { checkLiveTensor, describeValue, ShapeError, type Tensor, ValueError } from '@tessera/tensor-core';
import { checkDtype } from '@tessera/tensor-core';
import type { VelocityModel } from './losses.js';

/** Checks that `model` has a `velocity(xt, t)` method. */
export function checkModel(model: unknown, name: string): asserts model is VelocityModel {
  if (model === null || typeof model !== 'object' || typeof (model as VelocityModel).velocity !== 'function') {
    throw new ValueError(`${name}: expected an object with a velocity(xt, t) method, received ${describeValue(model)}`);
  }
}

/** Checks a data batch `x0 [B, ...]`: a live float32 tensor of rank ≥ 2 with B ≥ 1. */
export function checkBatch(x0: unknown, name: string): asserts x0 is Tensor {
  checkLiveTensor(x0, name);
  checkDtype(x0, 'float32', name);
  if (x0.rank < 2 || x0.shape[0] === 0) {
    throw new ShapeError(`${name}: expected [B, ...] with rank ≥ 2 and B ≥ 1, received [${x0.shape.join(', ')}]`);
  }
}
