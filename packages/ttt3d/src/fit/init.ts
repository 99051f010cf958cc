import { philoxUniform, tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { Gaussians, shCoefficients } from '../gaussians/index.js';
import { meanSquaredNeighbourDistance } from './neighbours.js';
import type { ResolvedInit } from './options.js';
import type { PhiloxStream } from './stream.js';

// 3DGS create_from_pcd: opacity 0.1, squared neighbour distance clamped at 1e-7 (simple-knn's floor)
const INITIAL_OPACITY = 0.1;
const MIN_SQUARED_DISTANCE = 1e-7;
// a lone point has no neighbour to size it by: Gaussians.fromPoints' default scale 0.01
const SINGLE_POINT_SQUARED_SCALE = 1e-4;

/**
 * The Gaussians a fit starts from, owned by the caller, at SH degree `shDegree`:
 * - given Gaussians: a copy, SH padded with zeros or truncated to `shDegree`;
 * - points `[N, 3]` or N random points uniform in the bounds (Philox): 3DGS' point-cloud start —
 *   isotropic scale = √(mean squared distance to the 3 nearest points), identity rotation, opacity 0.1,
 *   mid-grey colour (DC 0, rest 0).
 */
export async function initialGaussians(init: ResolvedInit, shDegree: number, stream: PhiloxStream): Promise<Gaussians> {
  if (init.kind === 'gaussians') return withDegree(init.gaussians, shDegree);
  const points =
    init.kind === 'points'
      ? tf.clone(init.points)
      : tf.tidy(() => {
          const u = philoxUniform([init.count, 3], { seed: stream.seed, offset: stream.reserve(3 * init.count) });
          const lo = tf.tensor1d(init.min);
          return tf.add(lo, tf.mul(u, tf.sub(tf.tensor1d(init.max), lo)));
        });
  const n = points.shape[0]!;
  const d2 = meanSquaredNeighbourDistance((await points.data()) as Float32Array, 3, SINGLE_POINT_SQUARED_SCALE);
  const logScale = Float32Array.from(d2, (d) => 0.5 * Math.log(Math.max(d, MIN_SQUARED_DISTANCE)));
  const fields = tf.tidy(() => ({
    means: points,
    logScales: tf.tile(tf.reshape(tf.tensor1d(logScale), [n, 1]), [1, 3]),
    quaternions: tf.tile(tf.tensor2d([[1, 0, 0, 0]]), [n, 1]),
    opacityLogits: tf.fill([n], Math.log(INITIAL_OPACITY / (1 - INITIAL_OPACITY))),
    sh: tf.zeros([n, shCoefficients(shDegree), 3]),
  }));
  return new Gaussians(fields);
}

/** A copy of `g` with exactly (shDegree + 1)² SH coefficients. */
function withDegree(g: Gaussians, shDegree: number): Gaussians {
  const k = shCoefficients(shDegree);
  const have = g.sh.shape[1]!;
  return new Gaussians(
    tf.tidy(() => {
      const sh: Tensor =
        have >= k
          ? tf.slice(g.sh, [0, 0, 0], [-1, k, 3])
          : tf.pad(g.sh, [
              [0, 0],
              [0, k - have],
              [0, 0],
            ]);
      return {
        means: tf.clone(g.means),
        logScales: tf.clone(g.logScales),
        quaternions: tf.clone(g.quaternions),
        opacityLogits: tf.clone(g.opacityLogits),
        sh,
      };
    }),
  );
}
