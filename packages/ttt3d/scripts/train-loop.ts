/**
 * The tttLRM training loop (papers/ttt3d.md §2): procedural multi-view samples (scripts/data.ts), the model's
 * Gaussians rendered at held-out target views with the differentiable rasteriser, loss
 * MSE(RGB) + λ_depth·|depth − depth_gt| (+ λ_ray·|t − t_gt| on the input pixels) (+ λ_alpha·(alpha − alpha_gt)²)
 * + λ_opacity·mean opacity, Adam (β = 0.9, 0.95 and gradient clipping at
 * norm 1, the authors' settings), checkpoints and a JSON-lines log written atomically.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  activeBackend,
  checkRange,
  loadSafetensors,
  saveSafetensors,
  type Tensor,
  tf,
  ValueError,
  type Variable,
  writeFileAtomic,
  yieldToEventLoop,
} from '@tessera/tensor-core';
import { type Camera, rasterize, TTTLRM, type TTTLRMConfig } from '../src/index.js';
import { disposeSample, makeSample, type SampleOptions } from './data.js';

export interface TrainOptions {
  /** Output directory: weights/ (config.json + model.safetensors), optimizer.safetensors, state.json, log.jsonl. */
  out: string;
  config: Partial<TTTLRMConfig>;
  steps: number;
  /** Stop (and save) after this many seconds of training; default no limit. */
  maxSeconds?: number;
  resume?: boolean;
  /**
   * Start from the weights saved in this directory (`config.json` + `model.safetensors`, e.g. the committed
   * `apps/demo/weights/tttlrm`) with fresh Adam moments; its `state.json` and `train-log.jsonl`, where present, carry
   * the step count, the seconds and the data seed on, so the run draws scenes it has not trained on. Ignored when
   * `resume` finds a run in `out`. `config` is not used: the saved one is (its `maxVirtualViews` too: raise it in
   * config.json after training on more views than it says).
   */
  init?: string;
  /** Adam's learning rate; default 3e-4 (1e-3 and 3e-3 learnt no faster in CPU runs and did worse at 16 views). */
  lr?: number;
  /** Weight of the L1 loss on the rendered target depth; default 0.01 (0.1 and 1 gave no PSNR gain in CPU runs). */
  lambdaDepth?: number;
  /**
   * Weight of the pixel-aligned depth loss: mean |t − t_gt| over the input pixels whose ground-truth alpha is ≥ 0.5,
   * t the decoded Gaussian's distance along its pixel's ray (the virtual views are the input cameras). Not in the
   * authors' loss (their depth term is a rendered one); default 0.
   */
  lambdaRayDepth?: number;
  /**
   * Weight of the alpha (silhouette) loss: mean (alpha − alpha_gt)² over the target pixels, alpha = 1 − the final
   * transmittance of the rendered target view, as the mask losses of GS-LRM and LGM. Not in the authors' loss; default 0.
   */
  lambdaAlpha?: number;
  /** Weight of the mean-opacity regulariser; default 0.01 (0 made no difference in CPU runs). */
  lambdaOpacity?: number;
  /**
   * Input views per scene, or a list cycled through step by step; default 8. Trained on 4, the model did worse at 16
   * views than at 4; on 8, 1.7 dB better at 16 views after 200 CPU steps, at the same PSNR at 4. Trained on 8 alone
   * (H100, 528 steps), held-out PSNR fell from 15.7 dB at 8 views to 12.7 dB at 64: each virtual view adds a layer of
   * Gaussians, and the opacities the model learnt are those of 8 layers — a list such as [4, 8, 16, 32] trains them
   * for every count.
   */
  inputViews?: number | readonly number[];
  /** Held-out target views rendered per step; default 2. */
  targetViews?: number;
  sceneGaussians?: number;
  dataSeed?: number;
  /** Save every this many steps (and at the end). */
  saveEvery?: number;
  /** Train on scene 0 of the stream (same cameras) at every step: an overfitting check. */
  fixedSample?: boolean;
  /** Called after every step. */
  onStep?: (entry: LogEntry) => void;
}

export interface LogEntry {
  step: number;
  seconds: number;
  loss: number;
  mse: number;
  depth: number;
  /** The pixel-aligned ray-depth loss (logged whatever its weight). */
  rayDepth: number;
  /** The alpha (silhouette) loss, mean (alpha − alpha_gt)² over the targets (logged whatever its weight). */
  alpha: number;
  opacity: number;
  psnr: number;
  gaussians: number;
  scene: string;
}

interface TrainState {
  step: number;
  seconds: number;
  dataSeed: number;
  backend: string;
}

/** Adam with moments keyed by parameter path, so a resumed run continues bit for bit. */
class PathAdam {
  readonly m = new Map<string, Tensor>();
  readonly v = new Map<string, Tensor>();
  t = 0;
  constructor(
    readonly lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.95,
    readonly eps = 1e-8,
  ) {}

  apply(params: [string, Variable][], grads: Map<string, Tensor>): void {
    this.t += 1;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (const [path, p] of params) {
      const g = grads.get(path);
      if (!g) continue;
      const [m, v] = tf.tidy(() => {
        const m0 = this.m.get(path) ?? tf.zerosLike(g);
        const v0 = this.v.get(path) ?? tf.zerosLike(g);
        return [
          tf.add(tf.mul(m0, this.beta1), tf.mul(g, 1 - this.beta1)),
          tf.add(tf.mul(v0, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)),
        ];
      }) as [Tensor, Tensor];
      tf.tidy(() => {
        const step = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.eps));
        p.assign(tf.sub(p, tf.mul(step, this.lr)));
      });
      this.m.get(path)?.dispose();
      this.v.get(path)?.dispose();
      this.m.set(path, m);
      this.v.set(path, v);
    }
  }

  record(): Record<string, Tensor> {
    const out: Record<string, Tensor> = { t: tf.scalar(this.t) };
    for (const [k, m] of this.m) out[`m.${k}`] = m;
    for (const [k, v] of this.v) out[`v.${k}`] = v;
    return out;
  }

  // reads are asynchronous throughout: tfjs' WebGPU backend reads synchronously only through an OffscreenCanvas,
  // which Node lacks
  async load(rec: Record<string, Tensor>): Promise<void> {
    this.t = (await (rec.t as Tensor).data())[0] as number;
    for (const [k, t] of Object.entries(rec)) {
      if (k.startsWith('m.')) this.m.set(k.slice(2), t);
      else if (k.startsWith('v.')) this.v.set(k.slice(2), t);
      else t.dispose();
    }
  }

  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
  }
}

/**
 * Mean |t − t_gt| over the pixels with a ground-truth surface (`rayDepths` > 0, `[V, H, W]`), t = ‖μ − o‖ of the
 * Gaussian decoded at that pixel of input camera v: the model orders its Gaussians (view, patch row, patch column,
 * pixel row, pixel column), so the target is permuted into that order.
 */
export function rayDepthLoss(means: Tensor, cameras: readonly Camera[], rayDepths: Tensor, p: number): Tensor {
  const [v, h, w] = rayDepths.shape as [number, number, number];
  const centres = tf.tensor3d(
    cameras.flatMap((cam) => cam.center()),
    [v, 1, 3],
  );
  const t = tf.norm(tf.sub(tf.reshape(means, [v, h * w, 3]), centres), 'euclidean', 2);
  const gt = tf.reshape(tf.transpose(tf.reshape(rayDepths, [v, h / p, p, w / p, p]), [0, 1, 3, 2, 4]), [v, h * w]);
  const mask = tf.cast(tf.greater(gt, 0), 'float32');
  return tf.div(tf.sum(tf.mul(tf.abs(tf.sub(t, gt)), mask)), tf.maximum(tf.sum(mask), 1));
}

/** Clips the gradients to global L2 norm `max` (torch's clip_grad_norm_); returns the norm before clipping. */
async function clipGrads(grads: Map<string, Tensor>, max: number): Promise<number> {
  // a running sum, not tf.addN: WebGPU's AddN binds every input at once, past the 8 storage buffers a stage may have
  const normT = tf.tidy(() => tf.sqrt([...grads.values()].reduce((acc, g) => tf.add(acc, tf.sum(tf.square(g))), tf.scalar(0))));
  const norm = (await normT.data())[0] as number;
  normT.dispose();
  if (Number.isFinite(norm) && norm > max) {
    for (const [k, g] of grads) {
      grads.set(
        k,
        tf.tidy(() => tf.mul(g, max / norm)),
      );
      g.dispose();
    }
  }
  return norm;
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}

const parseLog = (jsonl: string): LogEntry[] =>
  jsonl
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogEntry);

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Runs (or resumes) training; returns the log of this run's steps. */
export async function train(o: TrainOptions): Promise<LogEntry[]> {
  const dataSeed = o.dataSeed ?? 1;
  const lambdaDepth = o.lambdaDepth ?? 0.01;
  const lambdaOpacity = o.lambdaOpacity ?? 0.01;
  const lambdaRayDepth = o.lambdaRayDepth ?? 0;
  const lambdaAlpha = o.lambdaAlpha ?? 0;
  const saveEvery = o.saveEvery ?? 100;
  await mkdir(o.out, { recursive: true });
  const weightsDir = join(o.out, 'weights');
  const viewCounts = typeof o.inputViews === 'number' ? [o.inputViews] : [...(o.inputViews ?? [8])];
  for (const [i, n] of viewCounts.entries()) checkRange(n, { min: 1, integer: true }, `inputViews[${i}]`);
  if (viewCounts.length === 0) throw new ValueError('inputViews: expected at least one view count, received []');
  let model: TTTLRM;
  const adam = new PathAdam(o.lr ?? 3e-4);
  let state: TrainState = { step: 0, seconds: 0, dataSeed, backend: activeBackend() };
  let log: LogEntry[] = [];
  if (o.resume && (await exists(join(o.out, 'state.json')))) {
    model = await TTTLRM.load(weightsDir);
    state = JSON.parse(await readFile(join(o.out, 'state.json'), 'utf8')) as TrainState;
    await adam.load(await loadSafetensors(join(o.out, 'optimizer.safetensors')));
    log = parseLog(await readFile(join(o.out, 'log.jsonl'), 'utf8'));
  } else if (o.init !== undefined) {
    model = await TTTLRM.load(o.init);
    if (await exists(join(o.init, 'state.json'))) {
      const saved = JSON.parse(await readFile(join(o.init, 'state.json'), 'utf8')) as TrainState;
      state = { ...saved, dataSeed: o.dataSeed ?? saved.dataSeed, backend: activeBackend() };
    }
    if (await exists(join(o.init, 'train-log.jsonl'))) log = parseLog(await readFile(join(o.init, 'train-log.jsonl'), 'utf8'));
  } else {
    // a new model decodes by default at most as many views as it trains on (TTTLRMConfig.maxVirtualViews)
    model = new TTTLRM({ maxVirtualViews: Math.max(...viewCounts), ...o.config });
  }
  const c = model.config;
  const sampleOptions: SampleOptions = {
    size: c.imageSize,
    inputViews: viewCounts[0] as number,
    targetViews: o.targetViews ?? 2,
    sceneGaussians: o.sceneGaussians ?? 3000,
    background: [1, 1, 1],
  };
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  const save = async (): Promise<void> => {
    await model.save(weightsDir);
    await saveSafetensors(join(o.out, 'optimizer.safetensors'), adam.record());
    await writeFileAtomic(join(o.out, 'log.jsonl'), text(log.map((e) => JSON.stringify(e)).join('\n') + (log.length ? '\n' : '')));
    await writeFileAtomic(join(o.out, 'state.json'), text(`${JSON.stringify(state, null, 2)}\n`));
  };
  const started = Date.now();
  const startSeconds = state.seconds;
  const thisRun: LogEntry[] = [];
  const webgpu = tf.getBackend() === 'webgpu';
  try {
    while (state.step < o.steps) {
      if (o.maxSeconds !== undefined && (Date.now() - started) / 1000 >= o.maxSeconds) break;
      await yieldToEventLoop();
      const inputViews = viewCounts[state.step % viewCounts.length] as number;
      const sample = makeSample(state.dataSeed, o.fixedSample ? 0 : state.step, { ...sampleOptions, inputViews });
      let parts: Tensor[] = [];
      let count = 0;
      const { value, grads } = tf.variableGrads(
        () => {
          // every input camera is a virtual view in training, whatever the config's cap on the default
          const g = model.forward(sample.inputs, sample.inputCameras, { virtualCount: inputViews });
          count = g.count;
          // Gaussians may start 7 px wide at 128² (scaleOffset 2.3) or grow to e^−1.2 ≈ 23 px, so the WebGPU sort
          // buffers need more than the default 16 intersections per Gaussian
          const maxIntersections = webgpu ? Math.min(2 ** 27, 96 * g.count) : undefined;
          let mse = tf.scalar(0);
          let depth = tf.scalar(0);
          let alpha = tf.scalar(0);
          sample.targetCameras.forEach((cam, i) => {
            const r = rasterize(g, cam, { background: [1, 1, 1], ...(maxIntersections ? { maxIntersections } : {}) });
            mse = tf.add(mse, tf.mean(tf.square(tf.sub(r.image, tf.gather(sample.targets, i)))));
            depth = tf.add(depth, tf.mean(tf.abs(tf.sub(r.depth, tf.gather(sample.targetDepths, i)))));
            alpha = tf.add(alpha, tf.mean(tf.square(tf.sub(r.alpha, tf.gather(sample.targetAlphas, i)))));
          });
          const n = sample.targetCameras.length;
          mse = tf.div(mse, n);
          depth = tf.div(depth, n);
          alpha = tf.div(alpha, n);
          const opacity = tf.mean(tf.sigmoid(g.opacityLogits));
          const rayDepth = rayDepthLoss(g.means, sample.inputCameras, sample.inputRayDepths, c.patchSize);
          parts = [mse, depth, rayDepth, alpha, opacity].map((t) => tf.keep(tf.clone(t)));
          // at weight 0 the ray-depth and alpha terms are only logged: left out of the loss, the tape does not
          // differentiate them
          const terms = [mse, tf.mul(depth, lambdaDepth)];
          if (lambdaRayDepth !== 0) terms.push(tf.mul(rayDepth, lambdaRayDepth));
          if (lambdaAlpha !== 0) terms.push(tf.mul(alpha, lambdaAlpha));
          terms.push(tf.mul(opacity, lambdaOpacity));
          return tf.addN(terms) as tf.Scalar;
        },
        params.map(([, v]) => v),
      );
      const loss = (await value.data())[0] as number;
      const partValues = await Promise.all(parts.map(async (t) => (await t.data())[0] as number));
      tf.dispose([value, ...parts]);
      const byPath = new Map<string, Tensor>();
      for (const [path, v] of params) {
        const g = grads[v.name];
        if (g) byPath.set(path, g);
      }
      await clipGrads(byPath, 1);
      if (Number.isFinite(loss)) adam.apply(params, byPath);
      tf.dispose([...byPath.values()]);
      disposeSample(sample);
      state.step += 1;
      state.seconds = startSeconds + (Date.now() - started) / 1000;
      const [mse, depthLoss, rayDepth, alpha, opacity] = partValues as [number, number, number, number, number];
      const entry: LogEntry = {
        step: state.step,
        seconds: Math.round(state.seconds * 100) / 100,
        loss,
        mse,
        depth: depthLoss,
        rayDepth,
        alpha,
        opacity,
        psnr: -10 * Math.log10(mse),
        gaussians: count,
        scene: sample.name,
      };
      log.push(entry);
      thisRun.push(entry);
      o.onStep?.(entry);
      if (state.step % saveEvery === 0) await save();
    }
    await save();
  } finally {
    adam.dispose();
    model.dispose();
  }
  return thisRun;
}
