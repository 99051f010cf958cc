/**
 * The one tfjs instance every Tessera package uses. `@tensorflow/tfjs` (not the bare core) because its
 * Node entry registers all gradients and chained ops on the shared `@tensorflow/tfjs-core` engine; the
 * core's own Node entry registers neither, so `tf.grad` would fail there.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type { DataType, NamedAttrMap, Rank, Tensor, TensorContainer, TensorInfo, TypedArray, Variable } from '@tensorflow/tfjs';
