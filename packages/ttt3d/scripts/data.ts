import { philoxUniformArray, type Tensor, tf } from '@tessera/tensor-core';
import { bunny, Camera, coloredPrimitives, type Gaussians, rasterize, texturedSphere } from '../src/index.js';

/** One multi-view sample: input views + their cameras, held-out target views with ground-truth RGB, depth and alpha. */
export interface Sample {
  name: string;
  inputs: Tensor;
  inputCameras: Camera[];
  /**
   * `[V, H, W]`: distance along each input pixel's ray to the rendered surface (expected depth over alpha, z → ray
   * length), 0 where the pixel's alpha is below 0.5 (background or a faint edge): the pixel-aligned depth target.
   */
  inputRayDepths: Tensor;
  targets: Tensor;
  targetDepths: Tensor;
  /** `[T, H, W]`: the target views' ground-truth alpha (1 − final transmittance), the coverage target. */
  targetAlphas: Tensor;
  targetCameras: Camera[];
}

export interface SampleOptions {
  size: number;
  inputViews: number;
  targetViews: number;
  /** Scene Gaussians (procedural scenes; the bunny uses the same count). */
  sceneGaussians: number;
  background: [number, number, number];
}

/** Vertical field of view of the training cameras, radians. */
export const FOV_Y = 0.8;

/** Typical distance from a training camera to the scene's surface (cameras at radius 1.8–2.4 around objects at the origin). */
export const SCENE_DEPTH = 2;

/**
 * The `scaleOffset` that makes the decoder's initial Gaussians (log σ = −scaleOffset at raw 0) one pixel wide at
 * `SCENE_DEPTH` in a `size`² view: ln(size / (2·SCENE_DEPTH·tan(FOV_Y/2))), 4.3 at 128², 2.9 at 32². The authors'
 * 2.3 gives σ ≈ 7.6 px at 128²: every pixel is then covered by hundreds of faint Gaussians, and in CPU runs at that
 * relative size the PSNR did not move in 200 steps.
 */
export function pixelScaleOffset(size: number): number {
  return Math.log(size / (2 * SCENE_DEPTH * Math.tan(FOV_Y / 2)));
}

/** Cameras on a sphere around the origin: random azimuth, elevation in [−0.2, 0.8] rad, radius in [1.8, 2.4], fov 0.8. */
export function randomCameras(n: number, size: number, seed: number): Camera[] {
  const u = philoxUniformArray(3 * n, seed, 0);
  const out: Camera[] = [];
  for (let i = 0; i < n; i++) {
    const az = 2 * Math.PI * (u[3 * i] as number);
    const el = -0.2 + (u[3 * i + 1] as number);
    const r = 1.8 + 0.6 * (u[3 * i + 2] as number);
    const eye = [r * Math.cos(el) * Math.sin(az), r * Math.sin(el), r * Math.cos(el) * Math.cos(az)];
    out.push(Camera.fromLookAt(eye, [0, 0, 0], [0, 1, 0], { fovY: FOV_Y, width: size, height: size }));
  }
  return out;
}

/**
 * Scene `index` of the stream with `seed`: mostly random coloured primitives, every 4th a textured sphere, every 8th
 * the bunny — each with fresh random cameras. Held-out scenes use seeds the training stream never reaches.
 */
export function sceneAt(seed: number, index: number, n: number): { gaussians: Gaussians; name: string } {
  const s = seed * 1_000_003 + index;
  if (index % 8 === 7) return { ...bunny({ n, seed: s }), name: 'bunny' };
  if (index % 4 === 3) return { ...texturedSphere({ n, seed: s }), name: 'textured-sphere' };
  return { ...coloredPrimitives({ n, seed: s }), name: 'colored-primitives' };
}

/** `[H, W]`: ray length per unit of camera-space depth at each pixel centre, ‖K⁻¹ (u + 0.5, v + 0.5, 1)‖. */
function rayLengthPerDepth(c: Camera): Tensor {
  const out = new Float32Array(c.width * c.height);
  for (let v = 0; v < c.height; v++) {
    for (let u = 0; u < c.width; u++) out[v * c.width + u] = Math.hypot((u + 0.5 - c.cx) / c.fx, (v + 0.5 - c.cy) / c.fy, 1);
  }
  return tf.tensor2d(out, [c.height, c.width]);
}

/** Renders scene `index` of the stream: ground truth from our rasteriser. The caller disposes the tensors. */
export function makeSample(seed: number, index: number, o: SampleOptions): Sample {
  const scene = sceneAt(seed, index, o.sceneGaussians);
  const cams = randomCameras(o.inputViews + o.targetViews, o.size, seed * 7919 + index);
  const inputCameras = cams.slice(0, o.inputViews);
  const targetCameras = cams.slice(o.inputViews);
  const render = (c: Camera): { image: Tensor; depth: Tensor; alpha: Tensor } =>
    rasterize(scene.gaussians, c, { background: o.background });
  const ins = inputCameras.map(render);
  const tgs = targetCameras.map(render);
  const sample = {
    name: scene.name,
    inputs: tf.stack(ins.map((r) => r.image)),
    inputCameras,
    inputRayDepths: tf.tidy(() =>
      tf.stack(
        ins.map((r, i) => {
          const solid = tf.greaterEqual(r.alpha, 0.5);
          const z = tf.div(r.depth, tf.where(solid, r.alpha, tf.onesLike(r.alpha)));
          return tf.where(solid, tf.mul(z, rayLengthPerDepth(inputCameras[i] as Camera)), tf.zerosLike(z));
        }),
      ),
    ),
    targets: tf.stack(tgs.map((r) => r.image)),
    targetDepths: tf.stack(tgs.map((r) => r.depth)),
    targetAlphas: tf.stack(tgs.map((r) => r.alpha)),
    targetCameras,
  };
  tf.dispose([...ins, ...tgs].flatMap((r) => [r.image, r.depth, r.alpha]));
  scene.gaussians.dispose();
  return sample;
}

export function disposeSample(s: Sample): void {
  tf.dispose([s.inputs, s.inputRayDepths, s.targets, s.targetDepths, s.targetAlphas]);
}
