/**
 * What tttLRM's output layout can reach with perfect geometry: for every input pixel with a surface (alpha ≥ 0.5),
 * one Gaussian at the ground-truth ray depth with the pixel's colour — the Gaussians a pixel-aligned decoder would
 * emit if its depths and colours were exact — rendered at the held-out target views of `eval`'s scenes. Isotropic and
 * tiny (σ = 1 % of the pixel footprint: the rasteriser's 0.3 px² low-pass filter sets the drawn size), opacity
 * 1 − 0.01^(1/m) for m = `--layers` (a surface seen by many input views gets as many stacked layers, which at opacity
 * ≈ 1 dilate every silhouette).
 *
 *   pnpm --filter @tessera/ttt3d exec tsx scripts/pixel-oracle.ts [--scenes 4] [--views 16] [--size 128]
 *        [--targets 2] [--layers 1,4,8,16] [--shape point|disc] [--footprint 0.5,1,2] [--json FILE]
 *        [--backend cpu|wasm|webgpu]
 *
 * `--shape disc` makes each pixel's Gaussian a flat disc in the surface's tangent plane (normal from the
 * ground-truth depth map), its in-plane σ `--footprint`/2 times the pixel's footprint on the surface along each
 * principal axis (`discGaussian`): the Gaussians the decoder's scale and rotation channels could express.
 */
import { initBackend, type Tensor, tf, writeFileAtomic } from '@tessera/tensor-core';
import { type Camera, Gaussians, SH_C0 } from '../src/index.js';
import { cross, dot, norm, normalize, sub, type Vec3 } from '../src/camera/vec3.js';
import { disposeSample, makeSample } from './data.js';
import { HELD_OUT_SEED, score } from './eval.js';

/** Drawn size relative to the pixel footprint (depth / f): below the rasteriser's low-pass filter. */
const FOOTPRINT_FRACTION = 0.01;

/**
 * Floor on |cos θ| (θ between a pixel's ray and the surface normal) in the disc's footprint: a grazing pixel's
 * footprint grows as 1/|cos θ|, and depth-map normals at silhouettes and occlusion edges are close to perpendicular
 * to the ray whatever the true surface does; 0.2 caps the stretch at 5×.
 */
const MIN_COS = 0.2;

/** The drawn shape of each pixel's Gaussian. */
export type OracleShape = 'point' | 'disc';

export interface PixelAlignedOptions {
  /** `point` (default): isotropic and tiny; `disc`: flat, in the surface's tangent plane, sized to the pixel's footprint. */
  shape?: OracleShape;
  /**
   * Disc only: the in-plane standard deviations are `footprint / 2` times the pixel's footprint on the surface
   * (so 1 gives σ = half a pixel, as seen from the input view); default 1.
   */
  footprint?: number;
}

/**
 * World-space points `[V·H·W·3]` of the surfaces in `rayDepths` `[V, H, W]` (distance along each pixel's ray, 0 for no
 * surface: `Sample.inputRayDepths`), 0 where a pixel has none: the means of `pixelAlignedGaussians` and the
 * neighbours `surfaceNormals` differences.
 */
export function surfacePoints(
  rayDepths: ArrayLike<number>,
  shape: readonly [number, number, number],
  cameras: readonly Camera[],
): Float32Array {
  const [v, h, w] = shape;
  const points = new Float32Array(v * h * w * 3);
  for (let k = 0; k < v; k++) {
    const cam = cameras[k] as Camera;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (k * h + y) * w + x;
        const dist = rayDepths[i] as number;
        if (dist <= 0) continue;
        points.set(cam.unproject(x + 0.5, y + 0.5, cameraDepth(cam, x, y, dist)), 3 * i);
      }
    }
  }
  return points;
}

/**
 * World-space unit normals `[V·H·W·3]` of the surfaces in `rayDepths` (as in `surfacePoints`, whose `points` they
 * take), from the cross product of the neighbours' differences (right − left) × (down − up): central where both
 * neighbours have a surface, one-sided where one does. NaN where the pixel has no surface or no usable neighbour along
 * x or y. The sign is not oriented (a disc is symmetric).
 */
export function surfaceNormals(rayDepths: ArrayLike<number>, shape: readonly [number, number, number], points: Float32Array): Float32Array {
  const [v, h, w] = shape;
  const normals = new Float32Array(v * h * w * 3).fill(Number.NaN);
  const at = (i: number): Vec3 => [points[3 * i] as number, points[3 * i + 1] as number, points[3 * i + 2] as number];
  // the difference across pixel i along one image axis: neighbour indices `lo`, `hi` (−1 where off the image)
  const difference = (i: number, lo: number, hi: number): Vec3 | undefined => {
    const hasLo = lo >= 0 && (rayDepths[lo] as number) > 0;
    const hasHi = hi >= 0 && (rayDepths[hi] as number) > 0;
    if (hasLo && hasHi) return sub(at(hi), at(lo));
    if (hasHi) return sub(at(hi), at(i));
    if (hasLo) return sub(at(i), at(lo));
    return undefined;
  };
  for (let k = 0; k < v; k++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (k * h + y) * w + x;
        if ((rayDepths[i] as number) <= 0) continue;
        const du = difference(i, x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1);
        const dv = difference(i, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1);
        if (du === undefined || dv === undefined) continue;
        const n = cross(du, dv);
        if (norm(n) === 0) continue;
        normals.set(normalize(n), 3 * i);
      }
    }
  }
  return normals;
}

/**
 * The unit quaternion (w, x, y, z) of the rotation whose columns are `ex`, `ey`, `ez` (orthonormal, right-handed):
 * the rasteriser's Σ = R diag(s)² Rᵀ then has local axis j along column j (reference-project.ts builds R from
 * (w, x, y, z) in the 3DGS convention). Shepperd's method: divide by the largest of the four candidates.
 */
export function quaternionFromAxes(ex: readonly number[], ey: readonly number[], ez: readonly number[]): [number, number, number, number] {
  const r = (i: number, j: number): number => ([ex, ey, ez][j] as readonly number[])[i] as number;
  const trace = r(0, 0) + r(1, 1) + r(2, 2);
  if (trace > 0) {
    const s = 2 * Math.sqrt(1 + trace);
    return [s / 4, (r(2, 1) - r(1, 2)) / s, (r(0, 2) - r(2, 0)) / s, (r(1, 0) - r(0, 1)) / s];
  }
  if (r(0, 0) >= r(1, 1) && r(0, 0) >= r(2, 2)) {
    const s = 2 * Math.sqrt(1 + r(0, 0) - r(1, 1) - r(2, 2));
    return [(r(2, 1) - r(1, 2)) / s, s / 4, (r(0, 1) + r(1, 0)) / s, (r(0, 2) + r(2, 0)) / s];
  }
  if (r(1, 1) >= r(2, 2)) {
    const s = 2 * Math.sqrt(1 - r(0, 0) + r(1, 1) - r(2, 2));
    return [(r(0, 2) - r(2, 0)) / s, (r(0, 1) + r(1, 0)) / s, s / 4, (r(1, 2) + r(2, 1)) / s];
  }
  const s = 2 * Math.sqrt(1 - r(0, 0) - r(1, 1) + r(2, 2));
  return [(r(1, 0) - r(0, 1)) / s, (r(0, 2) + r(2, 0)) / s, (r(1, 2) + r(2, 1)) / s, s / 4];
}

/**
 * The flat Gaussian of pixel (`x`, `y`) of `cam` at camera depth `z` on a surface with unit normal `n`: its local z
 * along `n` (σ 1 % of the footprint), its local x, y along the principal axes of the pixel's footprint on the
 * tangent plane. The footprint is J Jᵀ with J = [∂X/∂u, ∂X/∂v], the surface point's motion per pixel step: the
 * pixel's ray step z·∂d/∂u slid along the ray d back onto the plane, ∂X/∂u = z (∂d/∂u − d (n·∂d/∂u)/(n·d)),
 * which stretches it by 1/|cos θ| along the tilt (n·d clamped to MIN_COS·|d|). In-plane σ = footprint/2 × each axis.
 */
export function discGaussian(
  cam: Camera,
  x: number,
  y: number,
  z: number,
  n: readonly number[],
  footprint: number,
): { quaternion: [number, number, number, number]; logScales: Vec3 } {
  const d = cam.cameraToWorldDirection([(x + 0.5 - cam.cx) / cam.fx, (y + 0.5 - cam.cy) / cam.fy, 1]);
  const nd = dot(n, d);
  const limit = MIN_COS * norm(d);
  const denominator = Math.abs(nd) >= limit ? nd : nd >= 0 ? limit : -limit;
  const onPlane = (step: Vec3): Vec3 => {
    const slide = dot(n, step) / denominator;
    return [z * (step[0] - d[0] * slide), z * (step[1] - d[1] * slide), z * (step[2] - d[2] * slide)];
  };
  const ju = onPlane(cam.cameraToWorldDirection([1 / cam.fx, 0, 0]));
  const jv = onPlane(cam.cameraToWorldDirection([0, 1 / cam.fy, 0]));
  // an orthonormal tangent basis (t1, t2, n), then J Jᵀ in it: [[a, b], [b, c]]
  const t1 = normalize(Math.abs(n[0] as number) < 0.9 ? cross(n, [1, 0, 0]) : cross(n, [0, 1, 0]));
  const t2 = cross(n, t1);
  const [u1, u2, v1, v2] = [dot(ju, t1), dot(ju, t2), dot(jv, t1), dot(jv, t2)];
  const a = u1 * u1 + v1 * v1;
  const b = u1 * u2 + v1 * v2;
  const c = u2 * u2 + v2 * v2;
  const mid = (a + c) / 2;
  const spread = Math.hypot((a - c) / 2, b);
  const phi = Math.atan2(2 * b, a - c) / 2;
  const ex: Vec3 = [
    Math.cos(phi) * t1[0] + Math.sin(phi) * t2[0],
    Math.cos(phi) * t1[1] + Math.sin(phi) * t2[1],
    Math.cos(phi) * t1[2] + Math.sin(phi) * t2[2],
  ];
  const ey = cross(n, ex);
  const major = (footprint / 2) * Math.sqrt(mid + spread);
  const minor = (footprint / 2) * Math.sqrt(Math.max(mid - spread, 0));
  return {
    quaternion: quaternionFromAxes(ex, ey, n),
    logScales: [Math.log(major), Math.log(minor), Math.log(FOOTPRINT_FRACTION * minor)],
  };
}

/** Camera-space depth z of the point at ray length `dist` through pixel (`x`, `y`): t = z·‖K⁻¹ (u, v, 1)‖ (data.ts rayLengthPerDepth). */
function cameraDepth(cam: Camera, x: number, y: number, dist: number): number {
  return dist / Math.hypot((x + 0.5 - cam.cx) / cam.fx, (y + 0.5 - cam.cy) / cam.fy, 1);
}

/**
 * The pixel-aligned Gaussians of `views` `[V, H, W, 3]` at `rayDepths` `[V, H, W]` (distance along each pixel's ray,
 * 0 for no surface: `Sample.inputRayDepths`), opacity 1 − 0.01^(1/`layers`), shaped per `options`. A disc pixel
 * with no usable neighbour along x or y (no normal) keeps the point shape.
 */
export async function pixelAlignedGaussians(
  views: Tensor,
  rayDepths: Tensor,
  cameras: readonly Camera[],
  layers: number,
  options: PixelAlignedOptions = {},
): Promise<Gaussians> {
  return (await pixelAlignedLayout(views, rayDepths, cameras, layers, options)).gaussians;
}

/** `pixelAlignedGaussians` and `fallbacks`, its count of disc pixels that kept the point shape (0 for points). */
export async function pixelAlignedLayout(
  views: Tensor,
  rayDepths: Tensor,
  cameras: readonly Camera[],
  layers: number,
  options: PixelAlignedOptions = {},
): Promise<{ gaussians: Gaussians; fallbacks: number }> {
  const shape = options.shape ?? 'point';
  const footprint = options.footprint ?? 1;
  const [v, h, w] = rayDepths.shape as [number, number, number];
  const rgb = await views.data();
  const t = await rayDepths.data();
  const points = surfacePoints(t, [v, h, w], cameras);
  const normals = shape === 'disc' ? surfaceNormals(t, [v, h, w], points) : undefined;
  const means: number[] = [];
  const scales: number[] = [];
  const quaternions: number[] = [];
  const colours: number[] = [];
  let fallbacks = 0;
  for (let k = 0; k < v; k++) {
    const cam = cameras[k] as Camera;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (k * h + y) * w + x;
        const dist = t[i] as number;
        if (dist <= 0) continue;
        const z = cameraDepth(cam, x, y, dist);
        means.push(points[3 * i] as number, points[3 * i + 1] as number, points[3 * i + 2] as number);
        colours.push(rgb[3 * i] as number, rgb[3 * i + 1] as number, rgb[3 * i + 2] as number);
        const n: Vec3 | undefined = normals && [normals[3 * i] as number, normals[3 * i + 1] as number, normals[3 * i + 2] as number];
        if (n !== undefined && !Number.isNaN(n[0])) {
          const disc = discGaussian(cam, x, y, z, n, footprint);
          scales.push(...disc.logScales);
          quaternions.push(...disc.quaternion);
        } else {
          if (n !== undefined) fallbacks++;
          const s = Math.log((FOOTPRINT_FRACTION * z) / cam.fx);
          scales.push(s, s, s);
          quaternions.push(1, 0, 0, 0);
        }
      }
    }
  }
  const n = means.length / 3;
  const opacity = 1 - 0.01 ** (1 / layers);
  const gaussians = new Gaussians(
    tf.tidy(() => ({
      means: tf.tensor2d(means, [n, 3]),
      logScales: tf.tensor2d(scales, [n, 3]),
      quaternions: tf.tensor2d(quaternions, [n, 4]),
      opacityLogits: tf.fill([n], Math.log(opacity / (1 - opacity))),
      sh: tf.expandDims(tf.div(tf.sub(tf.tensor2d(colours, [n, 3]), 0.5), SH_C0), 1),
    })),
  );
  return { gaussians, fallbacks };
}

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function main(argv: readonly string[]): Promise<void> {
  await initBackend((flag(argv, 'backend') ?? 'auto') as 'auto' | 'cpu' | 'wasm' | 'webgpu');
  const scenes = Number(flag(argv, 'scenes') ?? 4);
  const views = Number(flag(argv, 'views') ?? 16);
  const size = Number(flag(argv, 'size') ?? 128);
  const targetViews = Number(flag(argv, 'targets') ?? 2);
  const layerCounts = (flag(argv, 'layers') ?? '1,4,8,16').split(',').map(Number);
  const shape = (flag(argv, 'shape') ?? 'point') as OracleShape;
  if (shape !== 'point' && shape !== 'disc') throw new Error(`--shape: expected point or disc, received ${shape}`);
  // a point has no footprint: one pass per layer count
  const footprints = shape === 'disc' ? (flag(argv, 'footprint') ?? '1').split(',').map(Number) : [undefined];
  const rows: Record<string, number | string>[] = [];
  for (let scene = 0; scene < scenes; scene++) {
    const sample = makeSample(HELD_OUT_SEED, scene, { size, inputViews: views, targetViews, sceneGaussians: 3000, background: [1, 1, 1] });
    for (const footprint of footprints) {
      for (const layers of layerCounts) {
        const { gaussians: g, fallbacks } = await pixelAlignedLayout(sample.inputs, sample.inputRayDepths, sample.inputCameras, layers, {
          shape,
          ...(footprint === undefined ? {} : { footprint }),
        });
        const { psnr, ssim } = await score(g, sample.targetCameras, sample.targets);
        const row = {
          scene: sample.name,
          index: scene,
          views,
          size,
          shape,
          ...(footprint === undefined ? {} : { footprint, fallbacks }),
          layers,
          gaussians: g.count,
          psnr,
          ssim,
        };
        console.log(JSON.stringify(row));
        rows.push(row);
        g.dispose();
      }
    }
    disposeSample(sample);
  }
  const json = flag(argv, 'json');
  if (json) await writeFileAtomic(json, new TextEncoder().encode(`${JSON.stringify(rows, null, 2)}\n`));
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('scripts/pixel-oracle.ts') || invoked.endsWith('scripts/pixel-oracle.js')) {
  await main(process.argv.slice(2));
}
