import { tf, throwIfAborted, yieldToEventLoop } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { Camera } from '../camera/index.js';
import { Gaussians } from '../gaussians/index.js';
import { rasterize } from '../rasterize/index.js';
import { FieldAdam } from './adam.js';
import { densifiedLogScales, densifiedMeans, gatherField, planDensify, type DensifyPlan, type DensifySettings } from './densify.js';
import { cameraExtent } from './extent.js';
import { GradientStats, viewspaceGradientNorm } from './gradient-stats.js';
import { initialGaussians } from './init.js';
import { photometricLoss } from './loss.js';
import { resolveFitOptions, type FitOptions, type FitSettings, type FitStepInfo, type ResolvedRates } from './options.js';
import { GaussianParams, type ParamField } from './params.js';
import { PhiloxStream } from './stream.js';

/** One entry of a fit's history. */
export interface FitHistoryEntry {
  step: number;
  /** The photometric loss of the step's view, before its update. */
  loss: number;
  /** Number of Gaussians after the step. */
  count: number;
}

/** What `fitGaussians` returns. */
export interface FitResult {
  /** The fitted Gaussians (plain tensors, owned by the caller). */
  gaussians: Gaussians;
  history: FitHistoryEntry[];
}

/** The learning rate of each field at `step` of `steps` (the position rate decays, 3DGS' `get_expon_lr_func`). */
function fieldRate(field: ParamField, rates: ResolvedRates, extent: number, step: number, steps: number): number {
  switch (field) {
    case 'means': {
      if (rates.means === 0) return 0;
      const t = Math.min(1, step / Math.max(1, steps));
      return extent * Math.exp((1 - t) * Math.log(rates.means) + t * Math.log(rates.meansFinal));
    }
    case 'logScales':
      return rates.scales;
    case 'quaternions':
      return rates.rotations;
    case 'opacityLogits':
      return rates.opacity;
    case 'shDC':
      return rates.shDC;
    case 'shRest':
      return rates.shRest;
  }
}

/**
 * Per-scene optimisation of 3D Gaussians (Kerbl et al. 2023, "3D Gaussian Splatting for Real-Time Radiance
 * Field Rendering"): the classic baseline feed-forward reconstruction is compared with.
 *
 * `views[i]` `[h_i, w_i, 3]` (float32 in [0, 1]) is the image seen by `cameras[i]` (of the same size).
 * Each step renders one training view (views are visited in a seeded random order, each once per epoch)
 * with `rasterize`, takes the photometric loss (1 − λ)·L1 + λ·(1 − SSIM) (Eq. 7; `lossWeights`) and
 * updates every field with Adam through the rasteriser's gradient: `tf.train.adam`'s update as one fused
 * kernel per field, so each has its own learning rate (`lr`; positions scale with the
 * cameras' scene extent and decay log-linearly over the run). With `densify` on, the view-space positional
 * gradient is accumulated and every `densify.every` steps (from `from` to `until`) Gaussians whose mean
 * gradient reaches `gradThreshold` are cloned (largest scale ≤ percentDense · extent) or split in two
 * (scale / 1.6, means sampled from the parent), and those with opacity < `pruneOpacity` are removed,
 * within `maxGaussians` (§5 of the paper); kept Gaussians keep their Adam moments, new ones start from
 * zero. 3DGS' periodic opacity reset, its screen-size pruning and its gradual SH-degree increase are not
 * done (they pay off over tens of thousands of steps; fits here are short).
 *
 * Starts from `init.points` (Gaussians, copied, or points `[N, 3]`) or from `init.count` random points in
 * `init.bounds`. All randomness comes from Philox with `init.seed`: a fit is reproducible. If pruning
 * removes every Gaussian, the remaining steps render the background and update nothing.
 *
 * Returns the fitted Gaussians (owned by the caller) and the per-step history; every other tensor the fit
 * made is freed, also when it throws (an `onStep` error stops the fit and is rethrown) or is aborted through
 * `signal` (checked before every step; the fit then rejects with tensor-core's `AbortError`, its `cause` the signal's reason).
 * A step's loss is read while the next one runs, so `onStep` for step k is called once step k + 1 is queued. Each step yields to the
 * event loop first, so timers, I/O and the abort run during a long fit. At most MAX_FIT_STEPS steps and
 * MAX_FIT_GAUSSIANS Gaussians (`init.count`, `densify.maxGaussians`).
 */
export async function fitGaussians(views: readonly Tensor[], cameras: readonly Camera[], opts: FitOptions): Promise<FitResult> {
  const settings = await resolveFitOptions(views, cameras, opts);
  const stream = new PhiloxStream(settings.seed);
  const extent = cameraExtent(cameras);
  const params = new GaussianParams(await initialGaussians(settings.init, settings.shDegree, stream));
  const optimizers = new Map<ParamField, FieldAdam>(
    params.fields().map((f) => [f, new FieldAdam(fieldRate(f, settings.rates, extent, 1, settings.steps))]),
  );
  const stats = settings.densify ? new GradientStats(params.count) : undefined;
  const history: FitHistoryEntry[] = [];
  // A step's loss is read while the next step runs: awaiting it at once would leave the GPU idle while the host
  // encodes the next step's programs. Its read starts as soon as the step is queued (a later start would queue
  // the copy behind the next step), and onStep(k) arrives once step k + 1 is queued (the loss is still step k's).
  let pending: { info: FitStepInfo; loss: Tensor; read: Promise<ArrayLike<number>> } | undefined;
  const deliver = async (done: typeof pending): Promise<void> => {
    if (!done) return;
    const { info, loss, read } = done;
    try {
      info.loss = (await read)[0]!;
    } finally {
      loss.dispose();
    }
    history.push({ step: info.step, loss: info.loss, count: info.count });
    if (settings.onStep) await settings.onStep(info);
  };
  try {
    let order: number[] = [];
    for (let step = 1; step <= settings.steps; step++) {
      // a step is one synchronous burst of work: let timers, I/O and an abort in between
      await yieldToEventLoop();
      throwIfAborted(settings.signal, `before step ${step}`);
      if (order.length === 0) order = stream.permutation(views.length);
      const view = order.pop()!;
      for (const [field, opt] of optimizers) opt.setLearningRate(fieldRate(field, settings.rates, extent, step, settings.steps));
      const collect = settings.densify !== false && step <= settings.densify.until ? stats : undefined;
      const loss = optimiseStep(params, optimizers, views[view]!, cameras[view]!, settings, collect);
      const info: FitStepInfo = { step, loss: Number.NaN, count: params.count, view };
      const previous = pending;
      pending = { info, loss, read: loss.data() };
      await deliver(previous);
      const d = settings.densify;
      if (d && stats && step >= d.from && step <= d.until && step % d.every === 0 && params.count > 0) {
        const plan = await densifyStep(params, optimizers, stats, d, extent, stream);
        info.count = params.count;
        info.densified = { cloned: plan.cloned, split: plan.split, pruned: plan.pruned };
      }
    }
    const last = pending;
    pending = undefined;
    await deliver(last);
    return { gaussians: params.snapshot(), history };
  } finally {
    if (pending) {
      // an unawaited read of a disposed tensor would reject unobserved
      await pending.read.catch(() => undefined);
      pending.loss.dispose();
    }
    params.dispose();
    for (const opt of optimizers.values()) opt.dispose();
    stats?.dispose();
  }
}

/**
 * One Adam step on one view, queued without waiting for it; returns its loss as a scalar the caller disposes.
 * Gathers densification statistics into `stats` if given.
 */
function optimiseStep(
  params: GaussianParams,
  optimizers: Map<ParamField, FieldAdam>,
  target: Tensor,
  camera: Camera,
  settings: FitSettings,
  stats: GradientStats | undefined,
): Tensor {
  const render = (): Tensor => {
    const { image } = rasterize(params.view(), camera, {
      width: camera.width,
      height: camera.height,
      background: settings.background,
      shDegree: settings.shDegree,
    });
    return photometricLoss(image, target, settings.lossWeights);
  };
  if (params.count === 0) return tf.tidy(render);
  const vars = params.fields().map((f) => params.get(f));
  const { value, grads } = tf.variableGrads(render as () => tf.Scalar, vars);
  try {
    const meanGrad = grads[params.get('means').name];
    if (stats && meanGrad) {
      const norm = viewspaceGradientNorm(meanGrad, params.get('means'), camera);
      stats.add(norm);
      norm.dispose();
    }
    for (const [field, opt] of optimizers) {
      const v = params.get(field);
      const g = grads[v.name];
      if (g) opt.applyGradient(v, g);
    }
    return value;
  } catch (err) {
    value.dispose();
    throw err;
  } finally {
    tf.dispose(Object.values(grads));
  }
}

/** Clones, splits and prunes (see `planDensify`), rebuilding the variables and remapping the Adam moments. */
async function densifyStep(
  params: GaussianParams,
  optimizers: Map<ParamField, FieldAdam>,
  stats: GradientStats,
  settings: DensifySettings,
  extent: number,
  stream: PhiloxStream,
): Promise<DensifyPlan> {
  const [avgGrad, logScales, quaternions, opacityLogits] = await Promise.all([
    stats.average(),
    params.get('logScales').data() as Promise<Float32Array>,
    params.get('quaternions').data() as Promise<Float32Array>,
    params.get('opacityLogits').data() as Promise<Float32Array>,
  ]);
  const plan = planDensify({ avgGrad, logScales, quaternions, opacityLogits }, settings, extent, stream);
  const fields = tf.tidy(() => {
    const g = params.view();
    return {
      means: densifiedMeans(g.means, plan),
      logScales: densifiedLogScales(g.logScales, plan),
      quaternions: gatherField(g.quaternions, plan.sources),
      opacityLogits: gatherField(g.opacityLogits, plan.sources),
      sh: gatherField(g.sh, plan.sources),
    };
  });
  params.replace(new Gaussians(fields));
  for (const opt of optimizers.values()) opt.remapRows(plan.stateRows);
  stats.reset(params.count);
  return plan;
}
