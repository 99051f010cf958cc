import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';

/**
 * `tf.train.adam` for one Gaussian field (one variable), with the two things per-scene optimisation
 * needs beyond it: a learning rate that may change between steps (the decayed position rate), and a
 * state that follows the rows of a densified field (3DGS' `_prune_optimizer` / `cat_tensors_to_optimizer`).
 * β₁ = 0.9, β₂ = 0.999 and ε = 1e-15 are 3DGS' settings.
 */
export class FieldAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999, 1e-15);
  }

  /** The learning rate of the next `applyGradients`. */
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }

  /**
   * Moves the moments onto a densified field whose row j came from old row `rows[j]`, or is new where
   * `rows[j]` is −1: kept rows keep their moments, new rows start from zero, as in 3DGS. The step count
   * (and so the bias correction) is shared by all rows and carries over; before the first step there is
   * no state to move.
   */
  async remapRows(rows: Int32Array): Promise<void> {
    const weights = await this.getWeights();
    const [iter, ...moments] = weights;
    const remapped = moments.map(({ name, tensor }) => ({ name, tensor: gatherRows(tensor, rows) }));
    // setWeights wraps the given tensors in fresh variables without freeing the ones it replaces
    const old = moments.map(({ tensor }) => tensor);
    await this.setWeights([iter as { name: string; tensor: Tensor }, ...remapped]);
    tf.dispose([...old, ...remapped.map(({ tensor }) => tensor), (iter as { tensor: Tensor }).tensor]);
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
