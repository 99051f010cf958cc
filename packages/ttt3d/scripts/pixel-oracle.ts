/**
 * What tttLRM's output layout can reach with perfect geometry: for every input pixel with a surface (alpha ≥ 0.5),
 * one Gaussian at the ground-truth ray depth with the pixel's colour — the Gaussians a pixel-aligned decoder would
 * emit if its depths and colours were exact — rendered at the held-out target views of `eval`'s scenes. Isotropic and
 * tiny (σ = 1 % of the pixel footprint: the rasteriser's 0.3 px² low-pass filter sets the drawn size), opacity
 * 1 − 0.01^(1/m) for m = `--layers` (a surface seen by many input views gets as many stacked layers, which at opacity
 * ≈ 1 dilate every silhouette).
 *
 *   pnpm --filter @tessera/ttt3d exec tsx scripts/pixel-oracle.ts [--scenes 4] [--views 16] [--size 128]
 *        [--targets 2] [--layers 1,4,8,16] [--json FILE] [--backend cpu|wasm|webgpu]
 */
import { initBackend, type Tensor, tf, writeFileAtomic } from '@tessera/tensor-core';
import { type Camera, Gaussians, SH_C0 } from '../src/index.js';
import { disposeSample, makeSample } from './data.js';
import { HELD_OUT_SEED, score } from './eval.js';

/** Drawn size relative to the pixel footprint (depth / f): below the rasteriser's low-pass filter. */
const FOOTPRINT_FRACTION = 0.01;

/**
 * The pixel-aligned Gaussians of `views` `[V, H, W, 3]` at `rayDepths` `[V, H, W]` (distance along each pixel's ray,
 * 0 for no surface: `Sample.inputRayDepths`), opacity 1 − 0.01^(1/`layers`).
 */
export async function pixelAlignedGaussians(
  views: Tensor,
  rayDepths: Tensor,
  cameras: readonly Camera[],
  layers: number,
): Promise<Gaussians> {
  const [v, h, w] = rayDepths.shape as [number, number, number];
  const rgb = await views.data();
  const t = await rayDepths.data();
  const means: number[] = [];
  const scales: number[] = [];
  const colours: number[] = [];
  for (let k = 0; k < v; k++) {
    const cam = cameras[k] as Camera;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (k * h + y) * w + x;
        const dist = t[i] as number;
        if (dist <= 0) continue;
        // ray length t = z·‖K⁻¹ (u, v, 1)‖ (data.ts rayLengthPerDepth)
        const z = dist / Math.hypot((x + 0.5 - cam.cx) / cam.fx, (y + 0.5 - cam.cy) / cam.fy, 1);
        means.push(...cam.unproject(x + 0.5, y + 0.5, z));
        scales.push(Math.log((FOOTPRINT_FRACTION * z) / cam.fx));
        colours.push(rgb[3 * i] as number, rgb[3 * i + 1] as number, rgb[3 * i + 2] as number);
      }
    }
  }
  const n = means.length / 3;
  const opacity = 1 - 0.01 ** (1 / layers);
  return new Gaussians(
    tf.tidy(() => ({
      means: tf.tensor2d(means, [n, 3]),
      logScales: tf.tile(tf.tensor2d(scales, [n, 1]), [1, 3]),
      quaternions: tf.tile(tf.tensor2d([[1, 0, 0, 0]]), [n, 1]),
      opacityLogits: tf.fill([n], Math.log(opacity / (1 - opacity))),
      sh: tf.expandDims(tf.div(tf.sub(tf.tensor2d(colours, [n, 3]), 0.5), SH_C0), 1),
    })),
  );
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
  const rows: Record<string, number | string>[] = [];
  for (let scene = 0; scene < scenes; scene++) {
    const sample = makeSample(HELD_OUT_SEED, scene, { size, inputViews: views, targetViews, sceneGaussians: 3000, background: [1, 1, 1] });
    for (const layers of layerCounts) {
      const g = await pixelAlignedGaussians(sample.inputs, sample.inputRayDepths, sample.inputCameras, layers);
      const { psnr, ssim } = await score(g, sample.targetCameras, sample.targets);
      const row = { scene: sample.name, index: scene, views, size, layers, gaussians: g.count, psnr, ssim };
      console.log(JSON.stringify(row));
      rows.push(row);
      g.dispose();
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
