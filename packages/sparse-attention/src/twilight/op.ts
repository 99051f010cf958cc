import { defineOp, type HostTensor, scalarUniforms, type Tensor, tf } from '@tessera/tensor-core';
import { TopPBisectProgram } from './bisect.program.js';

export interface BisectAttrs {
  p: number;
  /** The bracket is closed when its weights lie within eps (Twilight: 1e-5). */
  eps: number;
}

/** Passes of the bisection at most (a float32 bracket closes far sooner). */
const MAX_PASSES = 64;

/** The bisection in tfjs ops, all rows at once for the fixed number of passes (finished rows keep their bracket). */
function bisectReference(w: Tensor, { p, eps }: BisectAttrs): Tensor {
  return tf.tidy(() => {
    const rows = w.shape[0] as number;
    let low = tf.zeros([rows, 1]);
    let high = tf.max(w, 1, true);
    let done = tf.zeros([rows, 1], 'bool');
    const big = tf.fill(w.shape, 3e38);
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const [l, h, d] = tf.tidy(() => {
        const mid = tf.mul(tf.add(low, high), 0.5);
        const f = tf.sum(tf.where(tf.greater(w, mid), w, tf.zerosLike(w)), 1, true);
        const gtLow = tf.min(tf.where(tf.greater(w, low), w, big), 1, true);
        const leHigh = tf.max(tf.where(tf.lessEqual(w, high), w, tf.neg(big)), 1, true);
        const reach = tf.greaterEqual(f, p);
        const nextLow = tf.where(tf.logicalAnd(reach, tf.logicalNot(done)), mid, low);
        const nextHigh = tf.where(tf.logicalOr(reach, done), high, tf.minimum(mid, leHigh));
        return [nextLow, nextHigh, tf.logicalOr(done, tf.lessEqual(tf.sub(leHigh, gtLow), eps))];
      });
      tf.dispose([low, high, done]);
      [low, high, done] = [l, h, d] as [Tensor, Tensor, Tensor];
    }
    return tf.cast(tf.greater(w, low), 'int32');
  });
}

function bisectHost(w: HostTensor, { p, eps }: BisectAttrs): HostTensor {
  const [rows, n] = w.shape as [number, number];
  const v = w.values as Float32Array;
  const out = new Int32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const row = v.subarray(r * n, (r + 1) * n);
    let low = 0;
    let high = row.reduce((a, b) => Math.max(a, b), 0);
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const mid = Math.fround(0.5 * (low + high));
      let f = 0;
      let gtLow = Number.POSITIVE_INFINITY;
      let leHigh = Number.NEGATIVE_INFINITY;
      for (const x of row) {
        if (x > mid) f += x;
        if (x > low) gtLow = Math.min(gtLow, x);
        if (x <= high) leHigh = Math.max(leHigh, x);
      }
      if (f >= p) low = mid;
      else high = Math.min(mid, leHigh);
      if (leHigh - gtLow <= eps) break;
    }
    for (let j = 0; j < n; j++) out[r * n + j] = (row[j] as number) > low ? 1 : 0;
  }
  return { shape: [rows, n], dtype: 'int32', values: out };
}

/** Twilight's top-p by threshold bisection over rows of non-negative weights `[R, N]` → int32 `[R, N]` (1 = kept). */
export const bisectOp = defineOp<'w', BisectAttrs>({
  kernelName: 'TesseraTopPBisect',
  inputs: ['w'],
  reference: ({ w }, attrs) => bisectReference(w, attrs),
  host: ({ w }, attrs) => bisectHost(w, attrs),
  hostBackends: ['cpu', 'wasm'],
  webgpu: ({ inputs, attrs, run }) => {
    const [rows, cols] = inputs.w.shape as [number, number];
    const uniforms = [...scalarUniforms('int32', [rows, cols]), ...scalarUniforms('float32', [attrs.p, attrs.eps])];
    const out = run(new TopPBisectProgram(rows, cols), [inputs.w], 'int32', uniforms);
    return { ...out, shape: [rows, cols] };
  },
});
