import { checkDtype, checkRange, describeValue, logSoftmax, ShapeError, tf, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { mirrorStep } from './step.js';

export interface MirrorAscentOptions {
  /**
   * Gradient of the objective being maximised, ∇f(q): receives `q` with `q0`'s shape (`[B, V]` or `[V]`)
   * and returns a float32 tensor of the same shape. It runs inside `tf.tidy`, so whatever it allocates is
   * freed after each step; it must not dispose `q`.
   */
  grad: (q: Tensor) => Tensor;
  /** Starting point on the simplex, `[B, V]` or `[V]`, nonnegative; each row is renormalised. Zeros stay zero. */
  q0: Tensor;
  /** Step size η > 0. */
  eta: number;
  /** Number of steps J (an integer ≥ 0); the maximum when `tol` is given. */
  steps: number;
  /** Stop early once max |q_{j+1} − q_j| < tol over the whole batch; enables `history`. */
  tol?: number;
}

export interface MirrorAscentResult {
  /** The last iterate q_J, with `q0`'s shape; rows sum to 1. */
  q: Tensor;
  /** Steps taken (< `steps` when `tol` stopped the run). */
  steps: number;
  /** With `tol`: max |q_{j+1} − q_j| after each step taken. */
  history?: number[];
}

function validate(opts: MirrorAscentOptions): void {
  if (opts === null || typeof opts !== 'object') {
    throw new ValueError(`options: expected { grad, q0, eta, steps, tol? }, received ${describeValue(opts)}`);
  }
  if (typeof opts.grad !== 'function') {
    throw new ValueError(`grad: expected a function (q: Tensor) => Tensor, received ${describeValue(opts.grad)}`);
  }
  const q0 = opts.q0;
  if (q0 === null || typeof q0 !== 'object' || !Array.isArray(q0.shape)) {
    throw new ShapeError(`q0: expected a tensor of shape [B, V] or [V], received ${describeValue(q0)}`);
  }
  if ((q0.rank !== 1 && q0.rank !== 2) || q0.size === 0) {
    throw new ShapeError(`q0: expected a non-empty tensor of shape [B, V] or [V], received shape [${q0.shape.join(', ')}]`);
  }
  checkDtype(q0, 'float32', 'q0');
  checkRange(opts.eta, { min: 0, minExclusive: true }, 'eta');
  checkRange(opts.steps, { min: 0, integer: true }, 'steps');
  if (opts.tol !== undefined) checkRange(opts.tol, { min: 0, minExclusive: true }, 'tol');
}

/** Reads q0's smallest entry, smallest row sum and NaN count in one transfer. */
async function checkSimplexStart(q0: Tensor): Promise<void> {
  const stats = tf.tidy(() => {
    const rows = q0.rank === 1 ? tf.reshape(q0, [1, -1]) : q0;
    return tf.stack([tf.min(rows), tf.min(tf.sum(rows, -1)), tf.sum(tf.cast(tf.isNaN(rows), 'float32'))]);
  });
  const [min, minRowSum, nans] = Array.from(await stats.data()) as [number, number, number];
  stats.dispose();
  if (nans > 0) throw new ValueError(`q0: expected nonnegative finite values, received ${nans} NaN entries`);
  if (min < 0) throw new ValueError(`q0: expected nonnegative values, received a minimum of ${min}`);
  if (!(minRowSum > 0) || !Number.isFinite(minRowSum)) {
    throw new ValueError(`q0: expected every row to have a positive finite sum, received a row summing to ${minRowSum}`);
  }
}

/**
 * Mirror ascent with the entropic mirror map (exponentiated gradient) for a user objective f on the
 * simplex: q_{j+1} ∝ q_j ⊙ exp(η ∇f(q_j)) (arXiv 2602.18292, Eq. 13), computed in log space as
 * log q_{j+1} = logSoftmax(log q_j + η g_j), which is Algorithm 1's max subtraction. `q0: [B, V]` or `[V]`
 * → `q` of the same shape. Entries where q0 is 0 stay exactly 0, so a support constraint C is enforced
 * by starting on its face. Async because `q0` is checked (nonnegative, no NaN) and `tol` reads the step
 * size back from the device.
 */
export async function mirrorAscent(opts: MirrorAscentOptions): Promise<MirrorAscentResult> {
  validate(opts);
  const { grad, q0, eta, steps, tol } = opts;
  await checkSimplexStart(q0);
  let logQ = tf.tidy(() => logSoftmax(tf.log(q0)));
  const history: number[] = [];
  let taken = 0;
  try {
    while (taken < steps) {
      const previous = logQ;
      const step = taken;
      const { next, change } = tf.tidy(() => {
        const q = tf.exp(previous);
        const g = grad(q);
        if (g === null || typeof g !== 'object' || !Array.isArray(g.shape) || g.shape.join() !== q.shape.join()) {
          throw new ShapeError(`grad: expected a tensor of shape [${q.shape.join(', ')}] at step ${step}, received ${describeValue(g)}`);
        }
        checkDtype(g, 'float32', 'grad(q)');
        const stepped = mirrorStep(previous, g, eta);
        return { next: stepped, change: tol === undefined ? undefined : tf.max(tf.abs(tf.sub(tf.exp(stepped), q))) };
      });
      logQ = next;
      previous.dispose();
      taken++;
      if (change !== undefined && tol !== undefined) {
        const delta = (await change.data())[0] as number;
        change.dispose();
        history.push(delta);
        if (delta < tol) break;
      }
    }
    const q = tf.exp(logQ);
    return tol === undefined ? { q, steps: taken } : { q, steps: taken, history };
  } finally {
    logQ.dispose();
  }
}
