import { deviceZeros, tf } from '@tessera/tensor-core';
import type { Tensor, Variable } from '@tessera/tensor-core';
import { adamUpdateOp } from './fused-adam/op.js';

// 3DGS' settings
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-15;

/**
 * `tf.train.adam` for one Gaussian field (one variable), as one fused kernel per step (fused-adam/op.ts: 2 WGSL
 * programs on WebGPU, no uploads, instead of tfjs' 14 programs and 8 scalar uploads), with the two things
 * per-scene optimisation needs beyond it: a learning rate that may change between steps (the decayed position
 * rate), and a state that follows the rows of a densified field (3DGS' `_prune_optimizer` /
 * `cat_tensors_to_optimizer`). β₁ = 0.9, β₂ = 0.999 and ε = 1e-15 are 3DGS' settings. The step count and the bias
 * corrections follow tfjs' `AdamOptimizer` exactly (float32 `accBeta` products, reset to `pow(β, t + 1)` when the
 * moments are replaced, as its `setWeights` does), so a run matches `tf.train.adam`'s within float32 rounding of
 * the kernels.
 */
export class FieldAdam {
  #lr: number;
  #iterations = 0;
  // tfjs keeps βᵗ⁺¹ as float32 scalar variables, multiplied by β after every step
  #accBeta1 = Math.fround(BETA1);
  #accBeta2 = Math.fround(BETA2);
  /** m and v interleaved, `[...shape, 2]`; absent before the first step. */
  #moments: Tensor | undefined;

  constructor(learningRate: number) {
    this.#lr = learningRate;
  }

  /** The learning rate of the next `applyGradient`. */
  setLearningRate(lr: number): void {
    this.#lr = lr;
  }

  /** Steps taken so far. */
  get iterations(): number {
    return this.#iterations;
  }

  /** One Adam step of `variable` along `grad` (same shape); the variable is updated in place (`assign`). */
  applyGradient(variable: Variable, grad: Tensor): void {
    this.#moments ??= deviceZeros([...variable.shape, 2]);
    const [param, moments] = adamUpdateOp(
      { param: variable, grad, moments: this.#moments },
      {
        lr: this.#lr,
        beta1: BETA1,
        beta2: BETA2,
        epsilon: EPSILON,
        correction1: Math.fround(1 - this.#accBeta1),
        correction2: Math.fround(1 - this.#accBeta2),
      },
    ) as [Tensor, Tensor];
    variable.assign(param);
    param.dispose();
    this.#moments.dispose();
    this.#moments = moments;
    this.#accBeta1 = Math.fround(this.#accBeta1 * Math.fround(BETA1));
    this.#accBeta2 = Math.fround(this.#accBeta2 * Math.fround(BETA2));
    this.#iterations++;
  }

  /** Copies of the first and second moments `[...shape]`, owned by the caller; undefined before the first step. */
  moments(): { m: Tensor; v: Tensor } | undefined {
    const moments = this.#moments;
    if (moments === undefined) return undefined;
    const [m, v] = tf.unstack(moments, moments.rank - 1) as [Tensor, Tensor];
    return { m, v };
  }

  /**
   * Moves the moments onto a densified field whose row j came from old row `rows[j]`, or is new where
   * `rows[j]` is −1: kept rows keep their moments, new rows start from zero, as in 3DGS. The step count
   * (and so the bias correction) is shared by all rows and carries over; before the first step there is
   * no state to move.
   */
  remapRows(rows: Int32Array): void {
    if (this.#moments === undefined) return;
    const remapped = gatherRows(this.#moments, rows);
    this.#moments.dispose();
    this.#moments = remapped;
    // tfjs' setWeights (what remapping went through when this was an AdamOptimizer) recomputes βᵗ⁺¹ with pow
    this.#accBeta1 = Math.fround(Math.fround(BETA1) ** (this.#iterations + 1));
    this.#accBeta2 = Math.fround(Math.fround(BETA2) ** (this.#iterations + 1));
  }

  dispose(): void {
    this.#moments?.dispose();
    this.#moments = undefined;
  }
}

/** Rows `rows[j]` of `t` (zeros where −1), gathered along axis 0. */
export function gatherRows(t: Tensor, rows: Int32Array): Tensor {
  return tf.tidy(() => {
    const index = tf.tensor1d(
      Array.from(rows, (r) => Math.max(r, 0)),
      'int32',
    );
    const keep = tf.tensor1d(
      Array.from(rows, (r) => (r >= 0 ? 1 : 0)),
      'float32',
    );
    const gathered = tf.gather(t, index);
    return tf.mul(gathered, tf.reshape(keep, [rows.length, ...t.shape.slice(1).map(() => 1)]));
  });
}
