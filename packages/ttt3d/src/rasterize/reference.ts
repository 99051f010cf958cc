import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { MAX_ALPHA, MIN_ALPHA, MIN_TRANSMITTANCE, TILE_SIZE } from './constants.js';
import type { RasterAttrs } from './raster-attrs.js';
import { above, atLeast, projectReference, type RasterInputs } from './reference-project.js';

/**
 * The permutation matrix `[N, N]` (row i selects the i-th nearest Gaussian) sorting by increasing depth;
 * top-k keeps the lower index first among equal depths, as the stable radix sort does. Wrapped as an op
 * with a zero gradient: an ordering carries none, and tfjs has no gradient for top-k or for gather's indices.
 */
const depthOrder: (depth: Tensor) => Tensor = tf.customGrad((depth) => {
  const d = depth as Tensor;
  const n = d.shape[0] as number;
  // oneHot needs depth ≥ 2, and its float32 output is wrong on the wasm backend (tfjs 4.22): cast from int32
  const value = n === 1 ? tf.ones([1, 1]) : tf.cast(tf.oneHot(tf.topk(tf.neg(d), n).indices, n), 'float32');
  return { value, gradFunc: () => tf.zerosLike(d) };
});

/**
 * The dense reference of the rasteriser (papers/ttt3d.md §4): every Gaussian against every pixel, in tfjs
 * ops, differentiable by autodiff. It reproduces the tiled algorithm's decisions exactly — a Gaussian only
 * reaches pixels of the tiles its rectangle touches (the 3.33σ box: the kernels' tighter opacity-aware box leaves
 * out only tiles where every α < 1/255), the list is walked front to back in depth order (ties by
 * index, as the stable radix sort leaves them), σ < 0 and α < 1/255 are skipped, and a pixel stops before the
 * Gaussian that would bring T to ≤ 1e-4 — by scanning the depth-sorted Gaussians with per-pixel masks.
 * Cost O(N·h·w) with N sequential steps: for tests and tiny scenes.
 *
 * Returns `[h, w, 5]`: Σ cᵢαᵢTᵢ (3), Σ zᵢαᵢTᵢ (expected depth, not normalised), final T.
 */
export function rasterizePackedReference(inputs: RasterInputs, attrs: RasterAttrs): Tensor {
  return tf.tidy(() => {
    const { width, height } = attrs;
    const n = inputs.means.shape[0] as number;
    let color: Tensor = tf.zeros([height, width, 3]);
    let depth: Tensor = tf.zeros([height, width]);
    let trans: Tensor = tf.ones([height, width]);
    if (n > 0) {
      const p = projectReference(inputs, attrs);
      // front to back
      const order = depthOrder(p.depth);
      const take = (t: Tensor): Tensor[] =>
        t.rank === 1 ? tf.unstack(tf.squeeze(tf.matMul(order, tf.expandDims(t, 1)), [1])) : tf.unstack(tf.matMul(order, t));
      const u = take(p.u);
      const v = take(p.v);
      const ca = take(p.conicA);
      const cb = take(p.conicB);
      const cc = take(p.conicC);
      const op = take(p.opacity);
      const z = take(p.depth);
      const valid = take(p.valid);
      const x0 = take(p.tileX0);
      const x1 = take(p.tileX1);
      const y0 = take(p.tileY0);
      const y1 = take(p.tileY1);
      const rgb = take(p.color);

      const px = tf.add(tf.range(0, width, 1, 'float32'), 0.5).reshape([1, width]);
      const py = tf.add(tf.range(0, height, 1, 'float32'), 0.5).reshape([height, 1]);
      // tile index + 0.5, so that tile ≥ x0 ⇔ tile − x0 > 0 and tile < x1 ⇔ x1 − tile > 0
      const tileX = tf.add(tf.floor(tf.div(tf.range(0, width, 1, 'float32'), TILE_SIZE)), 0.5).reshape([1, width]);
      const tileY = tf.add(tf.floor(tf.div(tf.range(0, height, 1, 'float32'), TILE_SIZE)), 0.5).reshape([height, 1]);
      let live: Tensor = tf.ones([height, width]);
      for (let k = 0; k < n; k++) {
        const inTile = tf.mul(
          tf.mul(
            tf.mul(above(tf.sub(tileX, x0[k] as Tensor)), above(tf.sub(x1[k] as Tensor, tileX))),
            tf.mul(above(tf.sub(tileY, y0[k] as Tensor)), above(tf.sub(y1[k] as Tensor, tileY))),
          ),
          valid[k] as Tensor,
        );
        // gsplat: delta = mean2d − pixel centre
        const dx = tf.sub(u[k] as Tensor, px);
        const dy = tf.sub(v[k] as Tensor, py);
        const sigma = tf.add(
          tf.mul(0.5, tf.add(tf.mul(ca[k] as Tensor, tf.mul(dx, dx)), tf.mul(cc[k] as Tensor, tf.mul(dy, dy)))),
          tf.mul(cb[k] as Tensor, tf.mul(dx, dy)),
        );
        const alpha = tf.minimum(tf.mul(op[k] as Tensor, tf.exp(tf.neg(sigma))), MAX_ALPHA);
        const hit = tf.mul(tf.mul(live, inTile), tf.mul(atLeast(sigma), atLeast(tf.sub(alpha, MIN_ALPHA))));
        const next = tf.mul(trans, tf.sub(1, alpha));
        const stop = tf.mul(hit, tf.sub(1, above(tf.sub(next, MIN_TRANSMITTANCE))));
        const add = tf.sub(hit, stop);
        const weight = tf.mul(tf.mul(alpha, trans), add);
        color = tf.add(color, tf.mul(tf.expandDims(weight, 2), rgb[k] as Tensor));
        depth = tf.add(depth, tf.mul(weight, z[k] as Tensor));
        trans = tf.add(trans, tf.mul(add, tf.sub(next, trans)));
        live = tf.sub(live, stop);
      }
    }
    return tf.concat([color, tf.expandDims(depth, 2), tf.expandDims(trans, 2)], 2);
  });
}
