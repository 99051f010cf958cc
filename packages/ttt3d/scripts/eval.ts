/**
 * Evaluates trained TTTLRM weights on held-out procedural scenes: for 4, 8, 16, 32 and 64 input views, PSNR and SSIM
 * of the reconstruction rendered at held-out target views (one pass), plus streaming (pushes of 4 views) at equal
 * views, and the reconstruction time. Prints one JSON object per row and writes them to --json.
 *
 *   pnpm --filter @tessera/ttt3d eval -- --weights DIR [--scenes 8] [--views 4,8,16,32,64] [--targets 4]
 *        [--json FILE] [--backend cpu|wasm|webgpu]
 *
 * Held-out scenes come from data seed 1 000 000 onwards (training uses small seeds).
 */
import { initBackend, type Tensor, tf, writeFileAtomic } from '@tessera/tensor-core';
import { type Gaussians, psnr, rasterize, ssim, TTTLRM } from '../src/index.js';
import { disposeSample, makeSample } from './data.js';

const HELD_OUT_SEED = 1_000_000;

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function score(
  g: Gaussians,
  cameras: readonly import('../src/index.js').Camera[],
  targets: Tensor,
): Promise<{ psnr: number; ssim: number }> {
  let p = 0;
  let s = 0;
  for (const [i, cam] of cameras.entries()) {
    const r = rasterize(g, cam, { background: [1, 1, 1] });
    const t = tf.gather(targets, i);
    const clipped = tf.clipByValue(r.image, 0, 1);
    p += await psnr(clipped, t);
    s += cam.width >= 11 && cam.height >= 11 ? await ssim(clipped, t) : Number.NaN;
    tf.dispose([r.image, r.depth, r.alpha, t, clipped]);
  }
  return { psnr: p / cameras.length, ssim: s / cameras.length };
}

export async function main(argv: readonly string[], backendReady = false): Promise<void> {
  const weights = flag(argv, 'weights');
  if (!weights) throw new Error('--weights DIR is required');
  if (!backendReady) await initBackend((flag(argv, 'backend') ?? 'auto') as 'auto' | 'cpu' | 'wasm' | 'webgpu');
  const model = await TTTLRM.load(weights);
  const scenes = Number(flag(argv, 'scenes') ?? 8);
  const targetViews = Number(flag(argv, 'targets') ?? 4);
  const counts = (flag(argv, 'views') ?? '4,8,16,32,64').split(',').map(Number);
  const rows: Record<string, number | string>[] = [];
  for (const views of counts) {
    for (let scene = 0; scene < scenes; scene++) {
      const sample = makeSample(HELD_OUT_SEED, scene, {
        size: model.config.imageSize,
        inputViews: views,
        targetViews,
        sceneGaussians: 3000,
        background: [1, 1, 1],
      });
      const t0 = performance.now();
      const g = await model.reconstruct(sample.inputs, sample.inputCameras);
      const seconds = (performance.now() - t0) / 1000;
      const onePass = await score(g, sample.targetCameras, sample.targets);
      g.dispose();
      const stream = model.stream();
      for (let start = 0; start < views; start += 4) {
        const n = Math.min(4, views - start);
        const part = tf.slice(sample.inputs, [start, 0, 0, 0], [n, -1, -1, -1]);
        stream.push(part, sample.inputCameras.slice(start, start + n));
        part.dispose();
      }
      const gs = await stream.gaussians();
      const streamed = await score(gs, sample.targetCameras, sample.targets);
      gs.dispose();
      stream.dispose();
      const row = {
        views,
        scene: sample.name,
        index: scene,
        seconds,
        psnr: onePass.psnr,
        ssim: onePass.ssim,
        streamPsnr: streamed.psnr,
        streamSsim: streamed.ssim,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
      disposeSample(sample);
    }
  }
  model.dispose();
  const json = flag(argv, 'json');
  if (json) await writeFileAtomic(json, new TextEncoder().encode(`${JSON.stringify(rows, null, 2)}\n`));
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('scripts/eval.ts') || invoked.endsWith('scripts/eval.js')) {
  await main(process.argv.slice(2));
}
