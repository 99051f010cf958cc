import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { LossInput, LossWeights } from './attrs.js';
import { C1, C2, WINDOW, window1d } from './window.js';

/**
 * Mean SSIM of two images `[h, w, 3]` as a differentiable scalar, exactly as 3DGS trains with it: local
 * statistics under the Gaussian window with zero padding ('same'), so border pixels see a partial window
 * (Wang et al. 2004, Eq. 13; unlike the evaluation metric, which uses only full windows). The window is
 * separable and zero padding commutes with that, so it runs as a vertical then a horizontal 11-tap conv2d
 * over the 5 statistics × 3 channels stacked as a batch (tfjs' WASM backend has conv2d's input gradient
 * but not the depthwise one).
 */
export function trainingSsim(a: Tensor, b: Tensor): Tensor {
  return tf.tidy(() => {
    const [h, w] = a.shape as [number, number, number];
    const g = window1d();
    const vertical = tf.tensor4d(g, [WINDOW, 1, 1, 1]);
    const horizontal = tf.tensor4d(g, [1, WINDOW, 1, 1]);
    // [h, w, 3] → [3, h, w, 1]: channels become batch entries of a one-channel conv
    const planes = (x: Tensor): Tensor => tf.reshape(tf.transpose(x, [2, 0, 1]), [3, h, w, 1]);
    const x = planes(a);
    const y = planes(b);
    const stats = tf.concat([x, y, tf.mul(x, x), tf.mul(y, y), tf.mul(x, y)], 0);
    const blurred = tf.conv2d(tf.conv2d(stats as tf.Tensor4D, vertical as tf.Tensor4D, 1, 'same'), horizontal as tf.Tensor4D, 1, 'same');
    const [muX, muY, xx, yy, xy] = tf.split(blurred, 5, 0) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const muXX = tf.mul(muX, muX);
    const muYY = tf.mul(muY, muY);
    const muXY = tf.mul(muX, muY);
    const sigmaX = tf.sub(xx, muXX);
    const sigmaY = tf.sub(yy, muYY);
    const sigmaXY = tf.sub(xy, muXY);
    const num = tf.mul(tf.add(tf.mul(muXY, 2), C1), tf.add(tf.mul(sigmaXY, 2), C2));
    const den = tf.mul(tf.add(tf.add(muXX, muYY), C1), tf.add(tf.add(sigmaX, sigmaY), C2));
    return tf.mean(tf.div(num, den));
  });
}

/**
 * The 3DGS photometric loss as a tfjs composite (the oracle of the fused kernels): `l1 · mean|render − target|
 * + dssim · (1 − SSIM)`, a zero weight dropping its term.
 */
export function photometricLossReference({ render, target }: Record<LossInput, Tensor>, weights: LossWeights): Tensor {
  return tf.tidy(() => {
    const terms: Tensor[] = [];
    if (weights.l1 > 0) terms.push(tf.mul(tf.mean(tf.abs(tf.sub(render, target))), weights.l1));
    if (weights.dssim > 0) terms.push(tf.mul(tf.sub(1, trainingSsim(render, target)), weights.dssim));
    return terms.length === 1 ? (terms[0] as Tensor) : tf.addN(terms);
  });
}
