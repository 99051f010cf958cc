import type { HostTensor } from '@tessera/tensor-core';
import { type AdamAttrs, type AdamInput, adamScalars } from './attrs.js';

/**
 * The typed-array Adam step (reference.ts' maths). Every operation is rounded to float32 as tfjs' cpu
 * backend rounds it (a float64 result stored into a Float32Array; for +, −, ×, ÷ and √ that equals the
 * correctly rounded float32 result), so on cpu it matches `tf.train.adam` bit for bit.
 */
export function adamUpdateHost({ param, grad, moments }: Record<AdamInput, HostTensor>, a: AdamAttrs): HostTensor[] {
  const f = Math.fround;
  const s = adamScalars(a);
  const p = param.values as Float32Array;
  const g = grad.values as Float32Array;
  const mv = moments.values as Float32Array;
  const nextParam = new Float32Array(p.length);
  const nextMoments = new Float32Array(mv.length);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    const m = f(f(mv[2 * i]! * s.beta1) + f(gi * s.oneMinusBeta1));
    const v = f(f(mv[2 * i + 1]! * s.beta2) + f(f(gi * gi) * s.oneMinusBeta2));
    const mHat = f(m / s.correction1);
    const vHat = f(v / s.correction2);
    const step = f(mHat / f(f(Math.sqrt(vHat)) + s.epsilon));
    nextParam[i] = f(step * s.negLr) + p[i]!;
    nextMoments[2 * i] = m;
    nextMoments[2 * i + 1] = v;
  }
  return [
    { shape: param.shape, dtype: 'float32', values: nextParam },
    { shape: moments.shape, dtype: 'float32', values: nextMoments },
  ];
}
