import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOptions, checkRange, checkSignal, describeValue, type Tensor, TesseraError, tf, throwIfAborted } from '@tessera/tensor-core';
import { bunny, type Camera, coloredPrimitives, type Gaussians, orbitCameras, psnr, type Scene, ssim, TTTLRM } from '@tessera/ttt3d';
import { prepareOut } from '../output.js';
import { noProgress, type Progress } from '../progress.js';
import { ELEVATION, FOV, fitInChunks, HELD_OUT_LIFT, RADIUS, render, ring, SPLAT_DEFAULTS, writeSceneFiles } from '../splat/part.js';

/** The committed tttLRM weights (apps/demo/weights/tttlrm: config.json + model.safetensors). */
export const TTTLRM_WEIGHTS = fileURLToPath(new URL('../../weights/tttlrm/', import.meta.url));

export const SCENES = ['bunny', 'procedural'] as const;
export type SceneName = (typeof SCENES)[number];

/** What the `reconstruct` part runs with when an option is not given: the tour's settings. */
export const RECONSTRUCT_DEFAULTS = {
  seed: 0,
  views: 8,
  /** Push the views in batches of `STREAM_BATCH` (the paper's streaming mode) instead of one pass. */
  stream: false,
  scene: 'bunny' as SceneName,
  heldOutViews: 4,
  /** Surface Gaussians of the ground-truth scene (the training data's 3000). */
  sceneGaussians: 3000,
  /**
   * Most steps of the splat baseline, which stops as soon as its held-out PSNR reaches tttLRM's. Small in the tour:
   * on WASM a step at 128² takes ~0.2 s; pass more (`--steps`) for the full comparison with a better model.
   */
  fitSteps: 100,
  /** The part's check: mean held-out PSNR at least this (dB). */
  minPsnr: 13,
  turntableFrames: 36,
} as const;

const RECONSTRUCT_KEYS = [
  ...(Object.keys(RECONSTRUCT_DEFAULTS) as (keyof typeof RECONSTRUCT_DEFAULTS)[]),
  'virtualCount',
  'weights',
  'out',
  'progress',
  'signal',
] as const;

export interface ReconstructOptions {
  /** Seeds the scene (the bunny's surface sampling, or which procedural scene) and the baseline fit. */
  seed?: number;
  /** Input views, evenly spaced on a ring around the scene (1–64). */
  views?: number;
  /** Push the views in batches of 4 and decode after each push (streaming) instead of one `reconstruct` pass. */
  stream?: boolean;
  /**
   * Decode from this many of the input views (ttt3d's `virtualCount`, 1–64); default the weights' `maxVirtualViews`
   * (32 for the committed ones), all of them where it is 0.
   */
  virtualCount?: number;
  /** 'bunny' (the Stanford bunny) or 'procedural' (coloured spheres and cubes, a scene the training never drew). */
  scene?: SceneName;
  /** Held-out views, above the input ring and between its cameras (1–16). */
  heldOutViews?: number;
  sceneGaussians?: number;
  /** Most steps of the `fitGaussians` baseline (1–20 000). */
  fitSteps?: number;
  minPsnr?: number;
  /** Frames of the turntable GIF (written with `out`; 4–360). */
  turntableFrames?: number;
  /** A tttLRM weights folder (config.json + model.safetensors, as `TTTLRM.save` writes); default the committed one. */
  weights?: string;
  /** Directory for reconstruct-heldout.png, reconstruct-turntable.gif and reconstruct.ply; nothing is written without it. */
  out?: string;
  progress?: Progress;
  /** Stops the part between stages and the baseline fit between steps (tensor-core's AbortError). */
  signal?: AbortSignal;
}

export interface ReconstructReport {
  scene: { name: SceneName; gaussians: number; seed: number };
  model: { weights: string; imageSize: number; width: number; depth: number; shDegree: number; parameters: number };
  /** `virtualViews`: how many of the views were decoded into Gaussians (see `ReconstructOptions.virtualCount`). */
  settings: { views: number; stream: boolean; virtualViews: number; heldOutViews: number; imageSize: number; fitSteps: number };
  /** Gaussians tttLRM produced (one per pixel of each input view, those of opacity < 0.01 pruned). */
  gaussians: number;
  /** tttLRM's held-out PSNR (dB) and SSIM: their means and each view's. */
  psnr: number;
  psnrPerView: number[];
  ssim: number;
  ssimPerView: number[];
  /** Held-out PSNR after each push (one entry without `stream`). */
  curve: { views: number; psnr: number }[];
  /**
   * Per-scene optimisation for the same PSNR: the splat part's fit (`fitInChunks`) on the same input views, stopped at
   * the first chunk whose held-out PSNR reaches tttLRM's, at most `maxSteps` steps. `seconds` is the time spent in
   * `fitGaussians` up to there (its held-out evaluations excluded); `ratio` = `seconds` / tttLRM's seconds (> 1: tttLRM
   * was faster; a lower bound when not `reached`).
   */
  baseline: {
    method: 'fitGaussians';
    reached: boolean;
    steps: number;
    maxSteps: number;
    seconds: number;
    psnr: number;
    gaussians: number;
    ratio: number;
    curve: { step: number; psnr: number; seconds: number }[];
  };
  backend: string;
  /** `reconstruct`: tttLRM's time (one pass, or every push and the final decode), pruning included; `load`: reading the weights. */
  seconds: { load: number; reconstruct: number; total: number };
  files: string[];
  minPsnr: number;
  /** Tensors alive after the part minus before it (0 when it freed everything it made). */
  leakedTensors: number;
  /** The part's check: `psnr` ≥ `minPsnr` and no tensor leaked. */
  ok: boolean;
}

/** A missing or unreadable weights folder, an unknown scene, an --out that cannot be written: one line, exit 2. */
export class ReconstructPartError extends TesseraError {}

/** Views per push in streaming mode. */
export const STREAM_BATCH = 4;
/** Steps per chunk of the baseline fit: its held-out PSNR is measured after each, so this is its step resolution. */
const BASELINE_CHUNK = 10;
/**
 * Procedural scenes come from the held-out stream of ttt3d's evaluation (`scripts/eval.ts`: data seed 1 000 000,
 * scene seed = data seed · 1 000 003 + index), which training never reaches; `--seed` is the index.
 */
const HELD_OUT_SCENES = 1_000_000 * 1_000_003;

function settingsOf(options: ReconstructOptions | undefined) {
  const o = checkOptions(options ?? {}, RECONSTRUCT_KEYS);
  const int = (name: Exclude<keyof typeof RECONSTRUCT_DEFAULTS, 'stream' | 'scene'>, min: number, max: number) =>
    checkRange(o[name] ?? RECONSTRUCT_DEFAULTS[name], { min, max, integer: true }, name);
  const scene = o.scene ?? RECONSTRUCT_DEFAULTS.scene;
  if (!(SCENES as readonly unknown[]).includes(scene)) {
    throw new ReconstructPartError(`reconstruct: scene: expected one of ${SCENES.join(', ')}, received ${describeValue(scene)}`);
  }
  const stream = o.stream ?? RECONSTRUCT_DEFAULTS.stream;
  if (typeof stream !== 'boolean')
    throw new ReconstructPartError(`reconstruct: stream: expected a boolean, received ${describeValue(stream)}`);
  const weights = o.weights ?? TTTLRM_WEIGHTS;
  if (typeof weights !== 'string' || weights === '') {
    throw new ReconstructPartError(`reconstruct: --weights: expected a directory path, received ${describeValue(weights)}`);
  }
  return {
    seed: int('seed', 0, Number.MAX_SAFE_INTEGER - HELD_OUT_SCENES),
    views: int('views', 1, 64),
    stream,
    virtualCount: o.virtualCount === undefined ? undefined : checkRange(o.virtualCount, { min: 1, max: 64, integer: true }, 'virtualCount'),
    scene,
    heldOutViews: int('heldOutViews', 1, 16),
    sceneGaussians: int('sceneGaussians', 1, 200_000),
    fitSteps: int('fitSteps', 1, 20_000),
    minPsnr: checkRange(o.minPsnr ?? RECONSTRUCT_DEFAULTS.minPsnr, { min: 0, max: 200 }, 'minPsnr'),
    turntableFrames: int('turntableFrames', 4, 360),
    weights,
    out: o.out,
    progress: o.progress ?? noProgress,
    signal: checkSignal(o.signal),
  };
}
type Settings = ReturnType<typeof settingsOf>;

/** The weights folder's model; a folder without the two files, or files that do not load, is the user's error. */
async function loadModel(dir: string): Promise<TTTLRM> {
  const missing = ['config.json', 'model.safetensors'].filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new ReconstructPartError(
      `reconstruct: --weights ${dir}: expected a tttLRM weights folder (config.json + model.safetensors), ${missing.join(' and ')} missing`,
    );
  }
  try {
    return await TTTLRM.load(dir);
  } catch (e) {
    if (!(e instanceof TesseraError)) throw e;
    throw new ReconstructPartError(`reconstruct: --weights ${dir}: cannot load the model: ${e.message.split('\n')[0]}`);
  }
}

function sceneOf(s: Settings): Scene {
  return s.scene === 'bunny'
    ? bunny({ n: s.sceneGaussians, seed: s.seed })
    : coloredPrimitives({ n: s.sceneGaussians, seed: HELD_OUT_SCENES + s.seed });
}

/** `render`, clipped to [0, 1] (tttLRM's SH colours may leave it), as ttt3d's evaluation scores it. */
function view(g: Gaussians, camera: Camera): Tensor {
  return tf.tidy(() => {
    const image = render(g, camera);
    return tf.clipByValue(image, 0, 1);
  });
}

async function score(g: Gaussians, cameras: readonly Camera[], truths: readonly Tensor[], withSsim: boolean) {
  const p: number[] = [];
  const s: number[] = [];
  for (const [i, camera] of cameras.entries()) {
    const image = view(g, camera);
    try {
      p.push(await psnr(image, truths[i] as Tensor));
      if (withSsim) s.push(await ssim(image, truths[i] as Tensor));
    } finally {
      image.dispose();
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { psnr: mean(p), psnrPerView: p, ssim: withSsim ? mean(s) : Number.NaN, ssimPerView: s };
}

/**
 * The `reconstruct` part: tttLRM (`@tessera/ttt3d`'s `TTTLRM`, the committed weights by default) turns posed views of a
 * scene into 3D Gaussians in one forward pass — or, with `stream`, batch by batch through its fast weights. The scene
 * (the bunny, or a held-out procedural scene) is rendered on white from `views` cameras on a ring (radius 2, elevation
 * 0.3 rad, fov 0.8 rad, the model's 128²: inside the training distribution), reconstructed and timed, and scored on
 * held-out cameras above the ring and between its azimuths. Then the per-scene baseline: the splat part's fit on the
 * same views until its held-out PSNR reaches tttLRM's. With `out`, writes the held-out renders (ground truth, tttLRM,
 * the fit), a turntable GIF and the `.ply`, all or nothing.
 */
export async function runReconstruct(options?: ReconstructOptions): Promise<ReconstructReport> {
  const s = settingsOf(options);
  const start = performance.now();
  if (s.out !== undefined) await prepareOut(s.out, 'reconstruct', ReconstructPartError);
  const before = tf.memory().numTensors;
  const r = await reconstruct(s);
  const leakedTensors = tf.memory().numTensors - before;
  return {
    ...r,
    seconds: { ...r.seconds, total: (performance.now() - start) / 1000 },
    minPsnr: s.minPsnr,
    leakedTensors,
    ok: r.psnr >= s.minPsnr && leakedTensors === 0,
  };
}

async function reconstruct(s: Settings): Promise<Omit<ReconstructReport, 'minPsnr' | 'leakedTensors' | 'ok'>> {
  const loadStart = performance.now();
  const model = await loadModel(s.weights);
  const load = (performance.now() - loadStart) / 1000;
  const size = model.config.imageSize;
  const scene = sceneOf(s);
  const cameras = orbitCameras(s.views, { radius: RADIUS, elevation: ELEVATION, fov: FOV, size });
  const held = ring(s.heldOutViews, size, ELEVATION + HELD_OUT_LIFT, 0.5);
  const images = cameras.map((c) => view(scene.gaussians, c));
  const truths = held.map((c) => view(scene.gaussians, c));
  const views = tf.stack(images);
  let g: Gaussians | undefined;
  let fitted: Gaussians | undefined;
  try {
    throwIfAborted(s.signal, 'before the reconstruction');
    // one pass, or pushes of STREAM_BATCH views with the scene so far decoded (and scored) after each
    const curve: ReconstructReport['curve'] = [];
    let seconds = 0;
    let quality: Awaited<ReturnType<typeof score>> | undefined;
    const decode = s.virtualCount === undefined ? {} : { virtualCount: s.virtualCount };
    s.progress.start('[reconstruct]', s.views, s.stream ? `tttLRM: streaming ${STREAM_BATCH} views a push` : 'tttLRM: one pass');
    if (!s.stream) {
      const t = performance.now();
      g = await model.reconstruct(views, cameras, decode);
      seconds = (performance.now() - t) / 1000;
      quality = await score(g, held, truths, true);
      curve.push({ views: s.views, psnr: quality.psnr });
    } else {
      const stream = model.stream();
      try {
        for (let from = 0; from < s.views; from += STREAM_BATCH) {
          throwIfAborted(s.signal, 'between pushes');
          const n = Math.min(STREAM_BATCH, s.views - from);
          const batch = tf.slice(views, [from, 0, 0, 0], [n, -1, -1, -1]);
          const t = performance.now();
          try {
            stream.push(batch, cameras.slice(from, from + n));
          } finally {
            batch.dispose();
          }
          seconds += (performance.now() - t) / 1000;
          const pushed = from + n;
          g?.dispose();
          g = undefined;
          const t2 = performance.now();
          g = await stream.gaussians(decode);
          // every push is tttLRM's work; a decode counts only when it is the last (the others are for the curve)
          if (pushed === s.views) seconds += (performance.now() - t2) / 1000;
          // SSIM of the final scene only
          const sc = await score(g, held, truths, pushed === s.views);
          const p = sc.psnr;
          if (pushed === s.views) quality = sc;
          curve.push({ views: pushed, psnr: p });
          s.progress.update(pushed, `pushed ${pushed}/${s.views} | held-out PSNR ${p.toFixed(2)} dB`);
        }
      } finally {
        stream.dispose();
      }
    }
    const recon = g as Gaussians;
    const final = quality as Awaited<ReturnType<typeof score>>;
    s.progress.update(s.views, `tttLRM: ${recon.count} Gaussians in ${seconds.toFixed(1)} s | held-out PSNR ${final.psnr.toFixed(2)} dB`);
    s.progress.stop();

    // the baseline: the splat part's fit on the same views until it reaches tttLRM's held-out PSNR
    throwIfAborted(s.signal, 'before the baseline fit');
    const target = final.psnr;
    const fitCurve: ReconstructReport['baseline']['curve'] = [];
    let fitSeconds = 0;
    let reached = false;
    let last = '';
    s.progress.start('[reconstruct]', s.fitSteps, `splat baseline to ${target.toFixed(2)} dB`);
    const inputs = tf.unstack(views);
    let fit: Awaited<ReturnType<typeof fitInChunks>>;
    try {
      const fitStart = performance.now();
      let evalSeconds = 0;
      fit = await fitInChunks(inputs, cameras, {
        steps: s.fitSteps,
        horizon: SPLAT_DEFAULTS.steps,
        chunk: BASELINE_CHUNK,
        initialGaussians: SPLAT_DEFAULTS.initialGaussians,
        maxGaussians: SPLAT_DEFAULTS.maxGaussians,
        bounds: scene.bounds,
        seed: s.seed,
        signal: s.signal,
        onStep: (step, info) =>
          s.progress.update(step, `splat baseline: loss ${info.loss.toFixed(4)}${last} | target ${target.toFixed(2)} dB`),
        afterChunk: async (fg, step) => {
          const t = performance.now();
          fitSeconds = (t - fitStart) / 1000 - evalSeconds;
          const p = (await score(fg, held, truths, false)).psnr;
          fitCurve.push({ step, psnr: p, seconds: fitSeconds });
          last = ` | held-out PSNR ${p.toFixed(2)} dB`;
          evalSeconds += (performance.now() - t) / 1000;
          reached = p >= target;
          return reached;
        },
      });
    } finally {
      tf.dispose(inputs);
    }
    fitted = fit.gaussians;
    s.progress.stop();
    // the held-out PNG's rows: ground truth, tttLRM, the splat baseline where it stopped
    const files =
      s.out !== undefined
        ? await writeSceneFiles({
            out: s.out,
            part: 'reconstruct',
            PartError: ReconstructPartError,
            rows: [scene.gaussians, recon, fitted],
            scene: recon,
            heldOutViews: s.heldOutViews,
            imageSize: size,
            turntableFrames: s.turntableFrames,
            draw: view,
            progress: { bar: s.progress, label: '[reconstruct]' },
            ...(s.signal ? { signal: s.signal } : {}),
          })
        : [];
    const fitPsnr = fitCurve.at(-1)?.psnr ?? Number.NaN;
    return {
      scene: { name: s.scene, gaussians: s.sceneGaussians, seed: s.seed },
      model: {
        weights: s.weights,
        imageSize: size,
        width: model.config.width,
        depth: model.config.depth,
        shDegree: model.config.shDegree,
        parameters: model.numParameters(),
      },
      settings: {
        views: s.views,
        stream: s.stream,
        virtualViews: model.virtualViewCount(s.views, s.virtualCount),
        heldOutViews: s.heldOutViews,
        imageSize: size,
        fitSteps: s.fitSteps,
      },
      gaussians: recon.count,
      ...final,
      curve,
      baseline: {
        method: 'fitGaussians',
        reached,
        steps: fit.steps,
        maxSteps: s.fitSteps,
        seconds: fitSeconds,
        psnr: fitPsnr,
        gaussians: fitted.count,
        ratio: fitSeconds / seconds,
        curve: fitCurve,
      },
      backend: tf.getBackend(),
      seconds: { load, reconstruct: seconds, total: Number.NaN },
      files,
    };
  } finally {
    s.progress.stop();
    g?.dispose();
    fitted?.dispose();
    model.dispose();
    scene.gaussians.dispose();
    tf.dispose([views, ...images, ...truths]);
  }
}

/** The part's text. */
export function formatReconstruct(r: ReconstructReport): string {
  const st = r.settings;
  const b = r.baseline;
  const decoded = st.virtualViews < st.views ? ` (${st.virtualViews} decoded)` : '';
  const mode = `${st.stream ? `streamed in pushes of ${STREAM_BATCH}` : 'one pass'}${decoded}`;
  const lines = [
    `tttLRM (${r.model.parameters.toLocaleString('en')} parameters, width ${r.model.width}, ${r.model.depth} blocks, SH ${r.model.shDegree}) on the ${r.scene.name === 'bunny' ? 'bunny' : `procedural scene ${r.scene.seed}`} (${r.scene.gaussians} surface Gaussians): ${st.views} views of ${st.imageSize}², ${mode}, on ${r.backend}`,
    `reconstructed ${r.gaussians} Gaussians in ${r.seconds.reconstruct.toFixed(2)} s (weights loaded in ${r.seconds.load.toFixed(2)} s)`,
    `held-out (${st.heldOutViews} views above the input ring): PSNR ${r.psnr.toFixed(2)} dB (${r.psnrPerView.map((p) => p.toFixed(1)).join(', ')}), SSIM ${r.ssim.toFixed(3)}; check ≥ ${r.minPsnr} dB and no leaked tensors (${r.leakedTensors}): ${r.ok ? 'ok' : 'FAILED'}`,
  ];
  if (st.stream) lines.push(`PSNR by views pushed: ${r.curve.map((c) => `${c.views}: ${c.psnr.toFixed(1)}`).join(', ')}`);
  lines.push(
    b.reached
      ? `splat baseline (fitGaussians, same views): reached ${b.psnr.toFixed(2)} dB after ${b.steps} steps in ${b.seconds.toFixed(2)} s — ${ratioText(b.ratio)}`
      : `splat baseline (fitGaussians, same views): ${b.psnr.toFixed(2)} dB after ${b.steps} steps (the cap; --steps raises it) in ${b.seconds.toFixed(2)} s, not yet tttLRM's — tttLRM at least ${b.ratio.toFixed(2)}× faster`,
    r.files.length > 0 ? `wrote ${r.files.join(', ')}` : 'pass --out DIR for the held-out renders (PNG), a turntable GIF and the .ply',
  );
  return lines.join('\n');
}

function ratioText(ratio: number): string {
  return ratio >= 1
    ? `tttLRM ${ratio.toFixed(2)}× faster for the same PSNR`
    : `the fit ${(1 / ratio).toFixed(2)}× faster than tttLRM for the same PSNR`;
}
