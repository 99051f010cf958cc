/**
 * Evaluates trained TTTLRM weights on held-out procedural scenes: for 4, 8, 16, 32 and 64 input views, PSNR and SSIM
 * of the reconstruction rendered at held-out target views (one pass), plus streaming (pushes of 4 views) at equal
 * views, and the reconstruction time. Then the per-scene optimisation baseline: on the first --fit-scenes scenes at
 * --fit-views input views, the time `fitGaussians` (3DGS, from 10 000 random points) needs to reach the PSNR tttLRM
 * reached there — fits of 25, 50, 100, … steps until one does (each fit timed alone, evaluation excluded). Prints one
 * JSON object per row and writes them all to --json.
 *
 *   pnpm --filter @tessera/ttt3d eval -- --weights DIR [--scenes 8] [--views 4,8,16,32,64] [--targets 4]
 *        [--fit-scenes 2] [--fit-views 16] [--fit-max-steps 3200] [--virtual-count N] [--json FILE] [--backend cpu|wasm|webgpu]
 *
 * `--virtual-count N` decodes from at most N of the input cameras (`virtualCount`: tttLRM's K-means choice), one
 * pass and streamed alike; default the weights' `maxVirtualViews` (0: all of them). Each row says how many decoded.
 *
 * Held-out scenes come from data seed 1 000 000 onwards (training uses small seeds).
 */
import { initBackend, type Tensor, tf, wasmHeapExhausted, writeFileAtomic } from '@tessera/tensor-core';
import { fitGaussians, type Gaussians, psnr, rasterize, ssim, TTTLRM } from '../src/index.js';
import { disposeSample, makeSample } from './data.js';

export const HELD_OUT_SEED = 1_000_000;

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Mean PSNR and SSIM of `g` rendered at `cameras` against `targets` `[V, H, W, 3]` (white background, clipped to [0, 1]). */
export async function score(
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
  // many views of large images can outgrow the wasm backend's 4 GiB heap, where tfjs-backend-wasm aborts without a word
  await evaluate(argv, backendReady).catch((e: unknown) => {
    throw wasmHeapExhausted(e) ?? e;
  });
}

async function evaluate(argv: readonly string[], backendReady: boolean): Promise<void> {
  const weights = flag(argv, 'weights');
  if (!weights) throw new Error('--weights DIR is required');
  if (!backendReady) await initBackend((flag(argv, 'backend') ?? 'auto') as 'auto' | 'cpu' | 'wasm' | 'webgpu');
  const model = await TTTLRM.load(weights);
  const scenes = Number(flag(argv, 'scenes') ?? 8);
  const targetViews = Number(flag(argv, 'targets') ?? 4);
  const counts = (flag(argv, 'views') ?? '4,8,16,32,64').split(',').map(Number);
  const cap = flag(argv, 'virtual-count');
  const decode: { virtualCount?: number } = cap === undefined ? {} : { virtualCount: Number(cap) };
  const rows: Record<string, number | string | boolean>[] = [];
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
      const g = await model.reconstruct(sample.inputs, sample.inputCameras, decode);
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
      const gs = await stream.gaussians(decode);
      const streamed = await score(gs, sample.targetCameras, sample.targets);
      gs.dispose();
      stream.dispose();
      const row = {
        views,
        virtualCount: model.virtualViewCount(views, decode.virtualCount),
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
  const fitScenes = Number(flag(argv, 'fit-scenes') ?? 2);
  const fitViews = Number(flag(argv, 'fit-views') ?? 16);
  const fitMax = Number(flag(argv, 'fit-max-steps') ?? 3200);
  for (let scene = 0; scene < fitScenes; scene++) {
    const sample = makeSample(HELD_OUT_SEED, scene, {
      size: model.config.imageSize,
      inputViews: fitViews,
      targetViews,
      sceneGaussians: 3000,
      background: [1, 1, 1],
    });
    // a warm reconstruction first: its time is the model's, not the first call's shader compiles
    (await model.reconstruct(sample.inputs, sample.inputCameras, decode)).dispose();
    const t0 = performance.now();
    const g = await model.reconstruct(sample.inputs, sample.inputCameras, decode);
    const seconds = (performance.now() - t0) / 1000;
    const goal = (await score(g, sample.targetCameras, sample.targets)).psnr;
    g.dispose();
    const views = tf.unstack(sample.inputs);
    let reached: { steps: number; seconds: number; psnr: number } | undefined;
    let last = { steps: 0, seconds: 0, psnr: Number.NaN };
    for (let steps = 25; steps <= fitMax && reached === undefined; steps *= 2) {
      const f0 = performance.now();
      const fit = await fitGaussians(views, sample.inputCameras, {
        steps,
        init: { count: 10_000, bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, seed: scene },
        background: [1, 1, 1],
      });
      const fitSeconds = (performance.now() - f0) / 1000;
      const p = (await score(fit.gaussians, sample.targetCameras, sample.targets)).psnr;
      fit.gaussians.dispose();
      last = { steps, seconds: fitSeconds, psnr: p };
      if (p >= goal) reached = last;
    }
    tf.dispose(views);
    const row = {
      baseline: 'fitGaussians',
      views: fitViews,
      scene: sample.name,
      index: scene,
      tttlrmSeconds: seconds,
      tttlrmPsnr: goal,
      fitSteps: (reached ?? last).steps,
      fitSeconds: (reached ?? last).seconds,
      fitPsnr: (reached ?? last).psnr,
      reached: reached !== undefined,
      speedup: (reached ?? last).seconds / seconds,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    disposeSample(sample);
  }
  model.dispose();
  const json = flag(argv, 'json');
  if (json) await writeFileAtomic(json, new TextEncoder().encode(`${JSON.stringify(rows, null, 2)}\n`));
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('scripts/eval.ts') || invoked.endsWith('scripts/eval.js')) {
  await main(process.argv.slice(2));
}
