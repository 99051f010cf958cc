import {
  checkDtype,
  checkOptions,
  checkRange,
  describeValue,
  ShapeError,
  type Tensor,
  tf,
  ValueError,
  checkSignal,
} from '@tessera/tensor-core';

/** Options of `mirrorAscent`. */
export interface MirrorAscentOptions {
  /** Step size η > 0. */
  eta: number;
  /** Number of steps J, an integer in [0, `MIRROR_ASCENT_MAX_STEPS`]; the maximum when `tol` is given. */
  steps: number;
  /** Stop early once max |q_{j+1} − q_j| < tol over the whole batch; enables `history`. */
  tol?: number;
  /** Aborting stops the run between two steps with an `AbortError`. */
  signal?: AbortSignal;
}

/** The most steps `mirrorAscent` takes in one call. */
export const MIRROR_ASCENT_MAX_STEPS = 100_000;

const MIRROR_ASCENT_OPTIONS = ['eta', 'steps', 'tol', 'signal'] as const;

/** Validated `mirrorAscent` arguments. */
export interface MirrorAscentSettings {
  eta: number;
  steps: number;
  tol: number | undefined;
  signal: AbortSignal | undefined;
}

/** Checks `mirrorAscent`'s arguments (not q0's values: `checkSimplexStart` reads them). */
export function validateMirrorAscent(grad: unknown, q0: Tensor, opts: MirrorAscentOptions): MirrorAscentSettings {
  if (typeof grad !== 'function') {
    throw new ValueError(`grad: expected a function (q: Tensor) => Tensor, received ${describeValue(grad)}`);
  }
  if (q0 === null || typeof q0 !== 'object' || !Array.isArray(q0.shape)) {
    throw new ShapeError(`q0: expected a tensor of shape [B, V] or [V], received ${describeValue(q0)}`);
  }
  if (q0.isDisposed) throw new ValueError(`q0: expected a live tensor, received a disposed ${describeValue(q0)}`);
  if ((q0.rank !== 1 && q0.rank !== 2) || q0.size === 0) {
    throw new ShapeError(`q0: expected a non-empty tensor of shape [B, V] or [V], received shape [${q0.shape.join(', ')}]`);
  }
  checkDtype(q0, 'float32', 'q0');
  const o = checkOptions(opts, MIRROR_ASCENT_OPTIONS);
  return {
    eta: checkRange(o.eta, { min: 0, minExclusive: true }, 'eta'),
    steps: checkRange(o.steps, { min: 0, max: MIRROR_ASCENT_MAX_STEPS, integer: true }, 'steps'),
    tol: o.tol === undefined ? undefined : checkRange(o.tol, { min: 0, minExclusive: true }, 'tol'),
    signal: checkSignal(o.signal),
  };
}

/** Reads q0's smallest entry, smallest row sum and NaN count in one transfer, and rejects a q0 off the simplex's cone. */
export async function checkSimplexStart(q0: Tensor): Promise<void> {
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
