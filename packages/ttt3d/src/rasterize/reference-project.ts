import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { EPS_2D, FAR_PLANE, NEAR_PLANE, RADIUS_SIGMAS, SH_BASIS, TILE_SIZE } from './constants.js';
import { fovLimits, type RasterAttrs, tileGrid } from './raster-attrs.js';

/** The Gaussian tensors the op takes, by name. */
export interface RasterInputs {
  means: Tensor;
  logScales: Tensor;
  quaternions: Tensor;
  opacityLogits: Tensor;
  sh: Tensor;
}

/** Per-Gaussian screen-space quantities, each `[N]` unless noted. */
export interface Projected {
  u: Tensor;
  v: Tensor;
  /** Conic (inverse dilated 2D covariance) entries a, b (off-diagonal), c. */
  conicA: Tensor;
  conicB: Tensor;
  conicC: Tensor;
  opacity: Tensor;
  /** `[N, 3]`, max(SH + 0.5, 0). */
  color: Tensor;
  depth: Tensor;
  /** 1 where inside (near, far), the quaternion is non-zero, det > 0, and the box [mean ± r] touches the image, else 0. */
  valid: Tensor;
  /** Tile rectangle [x0, x1) × [y0, y1) (integral floats), already clamped to the grid. */
  tileX0: Tensor;
  tileX1: Tensor;
  tileY0: Tensor;
  tileY1: Tensor;
}

/**
 * Masks are float 0/1 built from `tf.step` (whose gradient is zero) rather than comparison and logical ops:
 * tfjs refuses to backpropagate through any op without a gradient on a path from x to y, even where the
 * result would be zero. `above(x)` is 1 where x > 0, `atLeast(x)` 1 where x ≥ 0 (exact: a − b > 0 ⇔ a > b).
 */
export function above(x: Tensor): Tensor {
  return tf.step(x);
}

export function atLeast(x: Tensor): Tensor {
  return tf.sub(1, tf.step(tf.neg(x)));
}

/** Real SH basis values `[N, (degree+1)²]` at unit directions (x, y, z each `[N]`), gsplat's fast form. */
function shBasis(x: Tensor, y: Tensor, z: Tensor, degree: number): Tensor {
  const b: Tensor[] = [tf.fill(x.shape, SH_BASIS.c0)];
  if (degree >= 1) b.push(tf.mul(-SH_BASIS.c1, y), tf.mul(SH_BASIS.c1, z), tf.mul(-SH_BASIS.c1, x));
  if (degree >= 2) {
    const z2 = tf.mul(z, z);
    const fC1 = tf.sub(tf.mul(x, x), tf.mul(y, y));
    const fS1 = tf.mul(tf.mul(2, x), y);
    b.push(
      tf.mul(SH_BASIS.c2a, fS1),
      tf.mul(tf.mul(SH_BASIS.c2b, z), y),
      tf.sub(tf.mul(SH_BASIS.c2c, z2), SH_BASIS.c2d),
      tf.mul(tf.mul(SH_BASIS.c2b, z), x),
      tf.mul(SH_BASIS.c2a, fC1),
    );
    if (degree >= 3) {
      const fC2 = tf.sub(tf.mul(x, fC1), tf.mul(y, fS1));
      const fS2 = tf.add(tf.mul(x, fS1), tf.mul(y, fC1));
      const t3 = tf.add(tf.mul(SH_BASIS.c3c, z2), SH_BASIS.c3d);
      b.push(
        tf.mul(SH_BASIS.c3a, fS2),
        tf.mul(tf.mul(SH_BASIS.c3b, z), fS1),
        tf.mul(t3, y),
        tf.mul(z, tf.sub(tf.mul(SH_BASIS.c3e, z2), SH_BASIS.c3f)),
        tf.mul(t3, x),
        tf.mul(tf.mul(SH_BASIS.c3b, z), fC1),
        tf.mul(SH_BASIS.c3a, fC2),
      );
    }
  }
  return tf.stack(b, 1);
}

/**
 * Projects N Gaussians with gsplat's `fully_fused_projection` rules (papers/ttt3d.md §3 steps 1–7, §4):
 * Σ = R S Sᵀ Rᵀ, Σ_c = W Σ Wᵀ, J from the clamped x/z, y/z, Σ' = J Σ_c Jᵀ + 0.3 I, conic = Σ'⁻¹, radius
 * ceil(3.33 σ) per axis, SH colour + 0.5 clamped at 0. The tile box stays the fixed 3.33σ one, a superset of the
 * kernels' opacity-aware box (constants.ts RADIUS_SIGMAS): the tiles between the two hold no pixel with α ≥ 1/255,
 * so agreeing with this reference checks that the kernels drop no tile a pixel needs. Differentiable in tfjs ops; invalid Gaussians get
 * finite stand-in values (their depth replaced by 1) so that masked-out branches never carry NaN gradients.
 */
export function projectReference(inputs: RasterInputs, attrs: RasterAttrs): Projected {
  const { tilesX, tilesY } = tileGrid(attrs);
  const [limXPos, limXNeg, limYPos, limYNeg] = fovLimits(attrs);
  const [r00, r01, r02, r10, r11, r12, r20, r21, r22, t0, t1, t2] = attrs.view as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const view = tf.tensor2d([r00, r01, r02, r10, r11, r12, r20, r21, r22], [3, 3]);
  const n = inputs.means.shape[0] as number;

  // world → camera
  const meansC = tf.add(tf.matMul(inputs.means, view, false, true), tf.tensor1d([t0, t1, t2]));
  const [x, y, zRaw] = tf.unstack(meansC, 1) as [Tensor, Tensor, Tensor];
  const inDepth = tf.mul(above(tf.sub(zRaw, NEAR_PLANE)), above(tf.sub(FAR_PLANE, zRaw)));
  const z = tf.where(tf.cast(inDepth, 'bool'), zRaw, tf.onesLike(zRaw));

  // Σ = M Mᵀ, M = R diag(s), R from the normalised (w, x, y, z) quaternion. A zero quaternion culls its
  // Gaussian; it is replaced by the identity first, so that no 0/0 reaches the image or the gradient.
  const squaredNorm = tf.sum(tf.square(inputs.quaternions), 1, true);
  const quatOk = above(squaredNorm);
  const safeQuat = tf.where(tf.cast(quatOk, 'bool'), inputs.quaternions, tf.tensor2d([[1, 0, 0, 0]]));
  const q = tf.div(safeQuat, tf.sqrt(tf.sum(tf.square(safeQuat), 1, true)));
  const [qw, qx, qy, qz] = tf.unstack(q, 1) as [Tensor, Tensor, Tensor, Tensor];
  const two = (a: Tensor, b: Tensor): Tensor => tf.mul(2, tf.mul(a, b));
  const rot = tf.reshape(
    tf.stack(
      [
        tf.sub(1, tf.mul(2, tf.add(tf.square(qy), tf.square(qz)))),
        tf.sub(two(qx, qy), two(qw, qz)),
        tf.add(two(qx, qz), two(qw, qy)),
        tf.add(two(qx, qy), two(qw, qz)),
        tf.sub(1, tf.mul(2, tf.add(tf.square(qx), tf.square(qz)))),
        tf.sub(two(qy, qz), two(qw, qx)),
        tf.sub(two(qx, qz), two(qw, qy)),
        tf.add(two(qy, qz), two(qw, qx)),
        tf.sub(1, tf.mul(2, tf.add(tf.square(qx), tf.square(qy)))),
      ],
      1,
    ),
    [n, 3, 3],
  );
  const m = tf.mul(rot, tf.reshape(tf.exp(inputs.logScales), [n, 1, 3]));
  const cov = tf.matMul(m, m, false, true);
  const viewB = tf.broadcastTo(view, [n, 3, 3]);
  const covC = tf.matMul(tf.matMul(viewB, cov), viewB, false, true);

  // perspective Jacobian with gsplat's clamp of x/z and y/z
  const rz = tf.div(1, z);
  const rz2 = tf.mul(rz, rz);
  const tx = tf.mul(z, tf.clipByValue(tf.mul(x, rz), -limXNeg, limXPos));
  const ty = tf.mul(z, tf.clipByValue(tf.mul(y, rz), -limYNeg, limYPos));
  const zero = tf.zerosLike(z);
  const jac = tf.reshape(
    tf.stack(
      [
        tf.mul(attrs.fx, rz),
        zero,
        tf.neg(tf.mul(tf.mul(attrs.fx, tx), rz2)),
        zero,
        tf.mul(attrs.fy, rz),
        tf.neg(tf.mul(tf.mul(attrs.fy, ty), rz2)),
      ],
      1,
    ),
    [n, 2, 3],
  );
  const cov2d = tf.matMul(tf.matMul(jac, covC), jac, false, true);
  const [c00, c01, c10, c11] = tf.unstack(tf.reshape(cov2d, [n, 4]), 1) as [Tensor, Tensor, Tensor, Tensor];
  const a = tf.add(c00, EPS_2D);
  const c = tf.add(c11, EPS_2D);
  const b = tf.div(tf.add(c01, c10), 2);
  const det = tf.sub(tf.mul(a, c), tf.mul(b, b));
  const detOk = above(det);
  const invDet = tf.div(1, tf.where(tf.cast(detOk, 'bool'), det, tf.onesLike(det)));

  const u = tf.add(tf.mul(tf.mul(attrs.fx, x), rz), attrs.cx);
  const v = tf.add(tf.mul(tf.mul(attrs.fy, y), rz), attrs.cy);
  // radii and tile rectangles are piecewise constant: no gradient flows through them
  const rx = tf.ceil(tf.mul(RADIUS_SIGMAS, tf.sqrt(a)));
  const ry = tf.ceil(tf.mul(RADIUS_SIGMAS, tf.sqrt(c)));
  const inside = tf.mul(
    tf.mul(above(tf.add(u, rx)), above(tf.sub(attrs.width, tf.sub(u, rx)))),
    tf.mul(above(tf.add(v, ry)), above(tf.sub(attrs.height, tf.sub(v, ry)))),
  );
  const valid = tf.mul(tf.mul(tf.mul(inDepth, detOk), inside), tf.reshape(quatOk, [n]));
  const tileRange = (center: Tensor, radius: Tensor, tiles: number): [Tensor, Tensor] => {
    const tc = tf.div(center, TILE_SIZE);
    const tr = tf.div(radius, TILE_SIZE);
    return [tf.clipByValue(tf.floor(tf.sub(tc, tr)), 0, tiles), tf.clipByValue(tf.ceil(tf.add(tc, tr)), 0, tiles)];
  };
  const [tileX0, tileX1] = tileRange(u, rx, tilesX);
  const [tileY0, tileY1] = tileRange(v, ry, tilesY);

  // view-dependent colour: direction from the camera centre to the mean
  const dir = tf.sub(inputs.means, tf.tensor1d(attrs.center));
  const dirN = tf.div(dir, tf.norm(dir, 'euclidean', 1, true));
  const [dx, dy, dz] = tf.unstack(dirN, 1) as [Tensor, Tensor, Tensor];
  const coeffs = (attrs.shDegree + 1) * (attrs.shDegree + 1);
  const basis = shBasis(dx, dy, dz, attrs.shDegree);
  const sh = tf.slice(inputs.sh, [0, 0, 0], [n, coeffs, 3]);
  const color = tf.relu(tf.add(tf.sum(tf.mul(tf.expandDims(basis, 2), sh), 1), 0.5));

  return {
    u,
    v,
    conicA: tf.mul(c, invDet),
    conicB: tf.neg(tf.mul(b, invDet)),
    conicC: tf.mul(a, invDet),
    opacity: tf.sigmoid(inputs.opacityLogits),
    color,
    depth: zRaw,
    valid,
    tileX0,
    tileX1,
    tileY0,
    tileY1,
  };
}
