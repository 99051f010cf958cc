import { checkDtype, describeValue, logSoftmax, ShapeError, type Tensor, tf, throwIfAborted, yieldToEventLoop } from '@tessera/tensor-core';
import { mirrorStep } from './step.js';
import { checkSimplexStart, type MirrorAscentOptions, validateMirrorAscent } from './validate.js';

export { MIRROR_ASCENT_MAX_STEPS, type MirrorAscentOptions } from './validate.js';

export interface MirrorAscentResult {
  /** The last iterate q_J, with `q0`'s shape; rows sum to 1. */
  q: Tensor;
  /** Steps taken (< `steps` when `tol` stopped the run). */
  steps: number;
  /** With `tol`: max |q_{j+1} − q_j| after each step taken. */
  history?: number[];
}

/** How long the loop may hold the event loop before it yields, so that an abort can arrive. */
const YIELD_AFTER_MS = 20;

/**
 * Mirror ascent with the entropic mirror map (exponentiated gradient) for a user objective f on the
 * simplex: q_{j+1} ∝ q_j ⊙ exp(η ∇f(q_j)) (arXiv 2602.18292, Eq. 13), computed in log space as
 * log q_{j+1} = logSoftmax(log q_j + η g_j), which is Algorithm 1's max subtraction.
 *
 * `grad` is ∇f(q): it receives `q` with `q0`'s shape and returns a float32 tensor of the same shape; it
 * runs inside `tf.tidy`, so whatever it allocates is freed after each step, and it must not dispose `q`.
 * `q0: [B, V]` or `[V]`, nonnegative (each row is renormalised) → `q` of the same shape. Entries where q0
 * is 0 stay exactly 0, so a support constraint C is enforced by starting on its face. Async because `q0`
 * is checked (nonnegative, no NaN) and `tol` reads the step size back; the loop yields to the event
 * loop every 20 ms, so `signal` can stop a long run between steps (`AbortError`).
 */
export async function mirrorAscent(grad: (q: Tensor) => Tensor, q0: Tensor, opts: MirrorAscentOptions): Promise<MirrorAscentResult> {
  const { eta, steps, tol, signal } = validateMirrorAscent(grad, q0, opts);
  throwIfAborted(signal, 'before step 0');
  await checkSimplexStart(q0);
  let logQ = tf.tidy(() => logSoftmax(tf.log(q0)));
  const history: number[] = [];
  let taken = 0;
  let lastYield = Date.now();
  try {
    while (taken < steps) {
      if (Date.now() - lastYield > YIELD_AFTER_MS) {
        await yieldToEventLoop();
        lastYield = Date.now();
      }
      throwIfAborted(signal, `before step ${taken}`);
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
