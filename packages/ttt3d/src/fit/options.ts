import {
  checkDtype,
  checkFinite,
  checkOptions,
  checkRange,
  checkShape,
  describeValue,
  ShapeError,
  tf,
  ValueError,
  checkSignal,
  throwIfAborted,
} from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { Camera } from '../camera/index.js';
import { Gaussians, MAX_SH_DEGREE } from '../gaussians/index.js';
import type { DensifySettings } from './densify.js';
import type { LossWeights } from './loss.js';

/**
 * Per-field Adam learning rates. Defaults are 3DGS' (arguments/__init__.py), tuned there for 30 000
 * steps; short fits want larger ones.
 */
export interface FitLearningRates {
  /** Initial position rate per unit of scene extent (3DGS `position_lr_init`); default 1.6e-4. */
  means?: number;
  /** Final position rate per unit of scene extent, reached at the last step (log-linear decay); default means / 100. */
  meansFinal?: number;
  /** Log-scale rate; default 5e-3. */
  scales?: number;
  /** Quaternion rate; default 1e-3. */
  rotations?: number;
  /** Opacity-logit rate; default 5e-2. */
  opacity?: number;
  /** Rate of the SH DC coefficient; default 2.5e-3. */
  shDC?: number;
  /** Rate of the higher SH coefficients; default shDC / 20. */
  shRest?: number;
}

/** Adaptive density control; every field optional, defaults are 3DGS'. */
export interface FitDensifyOptions {
  /** Densify and prune every this many steps, integer ≥ 1; default 100. */
  every?: number;
  /** First step that may densify, integer ≥ 0; default 500. */
  from?: number;
  /** Last step that may densify, integer ≥ 0; default 15 000. */
  until?: number;
  /** View-space gradient threshold (NDC units, as 3DGS), > 0; default 2e-4. */
  gradThreshold?: number;
  /** Most Gaussians densification may create, integer ≥ 1; default 1 000 000. */
  maxGaussians?: number;
  /** Opacity below which a Gaussian is pruned, in [0, 1); default 0.005. */
  pruneOpacity?: number;
  /** Clone-versus-split scale, as a fraction of the scene extent, > 0; default 0.01. */
  percentDense?: number;
}

/** Axis-aligned box `min ≤ p ≤ max` (world units). */
export interface FitBounds {
  min: readonly number[];
  max: readonly number[];
}

/** Where the fit starts. */
export interface FitInit {
  /** Starting Gaussians (copied), or starting points `[N, 3]` (3DGS' point-cloud initialisation). */
  points?: Tensor | Gaussians;
  /** Number of random starting points, integer ≥ 1, when `points` is absent; default 10 000. */
  count?: number;
  /** Box the random starting points are drawn in; required when `points` is absent. */
  bounds?: FitBounds;
  /** Seed of every random choice of the fit (points, view order, split samples), a safe integer ≥ 0; default 0. */
  seed?: number;
}

/** What `onStep` receives after every step. */
export interface FitStepInfo {
  /** 1-based step number. */
  step: number;
  /** The photometric loss of this step's view, before the update. */
  loss: number;
  /** Number of Gaussians after the step (after densification, if it ran). */
  count: number;
  /** Index of the training view used. */
  view: number;
  /** Set on steps that densified: how many Gaussians were cloned, split and pruned. */
  densified?: { cloned: number; split: number; pruned: number };
}

/** Options of `fitGaussians`. */
export interface FitOptions {
  /** Optimisation steps (one training view each), integer ≥ 0. */
  steps: number;
  lr?: FitLearningRates;
  /** Adaptive density control, or false to keep N fixed; default on with 3DGS' settings. */
  densify?: FitDensifyOptions | false;
  init: FitInit;
  /** RGB in [0, 1] behind the Gaussians; default black [0, 0, 0]. */
  background?: readonly number[];
  /** SH degree 0–3 of the fitted colours; default 3, or the degree of `init.points` when it is Gaussians. */
  shDegree?: number;
  /** Photometric loss weights; default { l1: 0.8, dssim: 0.2 } (3DGS). */
  lossWeights?: Partial<LossWeights>;
  /**
   * Called after every step (awaited), in step order. Step k's call comes once step k + 1 is queued, so that
   * reading the loss does not idle the GPU: an abort from it stops the fit before step k + 2.
   */
  onStep?: (info: FitStepInfo) => void | Promise<void>;
  /**
   * Stops the fit between steps: it then rejects with tensor-core's `AbortError` (its `cause` the
   * signal's reason) after freeing every tensor it made.
   */
  signal?: AbortSignal;
}

/** Most optimisation steps a fit takes (3DGS trains for 30 000). */
export const MAX_FIT_STEPS = 1_000_000;
/** Most Gaussians a fit starts from (`init.count`) or densifies to (`densify.maxGaussians`): 2²⁴. */
export const MAX_FIT_GAUSSIANS = 2 ** 24;

/** Learning rates with defaults filled in. */
export type ResolvedRates = Required<FitLearningRates>;

/** Validated start: exactly one of points or (count, bounds). */
export type ResolvedInit =
  | { kind: 'gaussians'; gaussians: Gaussians }
  | { kind: 'points'; points: Tensor }
  | { kind: 'random'; count: number; min: [number, number, number]; max: [number, number, number] };

export interface FitSettings {
  steps: number;
  rates: ResolvedRates;
  densify: DensifySettings | false;
  init: ResolvedInit;
  seed: number;
  background: [number, number, number];
  shDegree: number;
  lossWeights: LossWeights;
  onStep: ((info: FitStepInfo) => void | Promise<void>) | undefined;
  signal: AbortSignal | undefined;
}

const OPTION_KEYS = ['steps', 'lr', 'densify', 'init', 'background', 'shDegree', 'lossWeights', 'onStep', 'signal'] as const;
const RATE_KEYS = ['means', 'meansFinal', 'scales', 'rotations', 'opacity', 'shDC', 'shRest'] as const;
const DENSIFY_KEYS = ['every', 'from', 'until', 'gradThreshold', 'maxGaussians', 'pruneOpacity', 'percentDense'] as const;
const INIT_KEYS = ['points', 'count', 'bounds', 'seed'] as const;
const BOUNDS_KEYS = ['min', 'max'] as const;
const LOSS_KEYS = ['l1', 'dssim'] as const;

function checkTriple(value: unknown, name: string, lo?: number, hi?: number): [number, number, number] {
  if ((!Array.isArray(value) && !ArrayBuffer.isView(value)) || (value as ArrayLike<unknown>).length !== 3) {
    throw new ValueError(`${name}: expected 3 numbers, received ${describeValue(value)}`);
  }
  const a = value as ArrayLike<number>;
  return [0, 1, 2].map((i) => checkRange(a[i] as number, { min: lo, max: hi }, `${name}[${i}]`)) as [number, number, number];
}

function resolveRates(lr: FitLearningRates | undefined): ResolvedRates {
  const r = checkOptions(lr, RATE_KEYS, 'lr');
  const rate = (v: number | undefined, fallback: number, name: string, positive = false): number =>
    v === undefined ? fallback : checkRange(v, { min: 0, minExclusive: positive }, `lr.${name}`);
  const means = rate(r.means, 1.6e-4, 'means');
  const shDC = rate(r.shDC, 2.5e-3, 'shDC');
  return {
    means,
    // the decay is log-linear, so a final rate of 0 has no logarithm
    meansFinal: rate(r.meansFinal, means > 0 ? means / 100 : 1.6e-6, 'meansFinal', true),
    scales: rate(r.scales, 5e-3, 'scales'),
    rotations: rate(r.rotations, 1e-3, 'rotations'),
    opacity: rate(r.opacity, 5e-2, 'opacity'),
    shDC,
    shRest: rate(r.shRest, shDC / 20, 'shRest'),
  };
}

function resolveDensify(densify: FitDensifyOptions | false | undefined): DensifySettings | false {
  if (densify === false) return false;
  if (densify !== undefined && (densify === null || typeof densify !== 'object')) {
    throw new ValueError(`densify: expected false or { ${DENSIFY_KEYS.join(', ')} } (all optional), received ${describeValue(densify)}`);
  }
  const d = checkOptions(densify, DENSIFY_KEYS, 'densify');
  const int = (v: number | undefined, fallback: number, name: string, min: number, max: number): number =>
    v === undefined ? fallback : checkRange(v, { min, max, integer: true }, `densify.${name}`);
  return {
    every: int(d.every, 100, 'every', 1, MAX_FIT_STEPS),
    from: int(d.from, 500, 'from', 0, MAX_FIT_STEPS),
    until: int(d.until, 15_000, 'until', 0, MAX_FIT_STEPS),
    gradThreshold:
      d.gradThreshold === undefined ? 2e-4 : checkRange(d.gradThreshold, { min: 0, minExclusive: true }, 'densify.gradThreshold'),
    maxGaussians: int(d.maxGaussians, 1_000_000, 'maxGaussians', 1, MAX_FIT_GAUSSIANS),
    pruneOpacity:
      d.pruneOpacity === undefined ? 0.005 : checkRange(d.pruneOpacity, { min: 0, max: 1, maxExclusive: true }, 'densify.pruneOpacity'),
    percentDense: d.percentDense === undefined ? 0.01 : checkRange(d.percentDense, { min: 0, minExclusive: true }, 'densify.percentDense'),
  };
}

function resolveInit(init: FitInit | undefined): { init: ResolvedInit; seed: number } {
  if (init === undefined)
    throw new ValueError(`init: expected { ${INIT_KEYS.join(', ')} } (points, or count and bounds), received undefined`);
  const i = checkOptions(init, INIT_KEYS, 'init');
  const seed = i.seed === undefined ? 0 : checkRange(i.seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'init.seed');
  if (i.points !== undefined) {
    if (i.count !== undefined || i.bounds !== undefined) {
      throw new ValueError(
        `init: expected either points or count/bounds, received points with ${i.count !== undefined ? 'count' : 'bounds'}`,
      );
    }
    if (i.points instanceof Gaussians) {
      if (i.points.count === 0) throw new ValueError('init.points: expected at least one Gaussian, received 0');
      return { init: { kind: 'gaussians', gaussians: i.points }, seed };
    }
    const p = i.points as Tensor;
    if (p === null || typeof p !== 'object' || !Array.isArray(p.shape)) {
      throw new ShapeError(`init.points: expected Gaussians or a float32 tensor [N, 3], received ${describeValue(p)}`);
    }
    checkShape(p, [null, 3], 'init.points');
    checkDtype(p, 'float32', 'init.points');
    if (p.shape[0] === 0) throw new ShapeError('init.points: expected at least one point, received shape [0, 3]');
    return { init: { kind: 'points', points: p }, seed };
  }
  if (i.bounds === undefined)
    throw new ValueError('init.bounds: expected { min: [x, y, z], max: [x, y, z] } when init.points is absent, received undefined');
  const b: FitBounds = checkOptions(i.bounds, BOUNDS_KEYS, 'init.bounds');
  const min = checkTriple(b.min, 'init.bounds.min');
  const max = checkTriple(b.max, 'init.bounds.max');
  for (let a = 0; a < 3; a++) {
    if (!(min[a]! < max[a]!)) {
      throw new ValueError(`init.bounds: expected min < max on every axis, received min[${a}] = ${min[a]} and max[${a}] = ${max[a]}`);
    }
  }
  const count = i.count === undefined ? 10_000 : checkRange(i.count, { min: 1, max: MAX_FIT_GAUSSIANS, integer: true }, 'init.count');
  return { init: { kind: 'random', count, min, max }, seed };
}

function resolveLossWeights(w: Partial<LossWeights> | undefined): LossWeights {
  const o = checkOptions(w, LOSS_KEYS, 'lossWeights');
  const l1 = o.l1 === undefined ? 0.8 : checkRange(o.l1, { min: 0 }, 'lossWeights.l1');
  const dssim = o.dssim === undefined ? 0.2 : checkRange(o.dssim, { min: 0 }, 'lossWeights.dssim');
  if (l1 + dssim === 0) throw new ValueError('lossWeights: expected l1 + dssim > 0, received both 0');
  return { l1, dssim };
}

/**
 * Validates every argument of `fitGaussians` (errors name the argument, the expectation and the value)
 * and fills in defaults. Asynchronous because it reads the views to check they lie in [0, 1].
 */
export async function resolveFitOptions(views: readonly Tensor[], cameras: readonly Camera[], opts: FitOptions): Promise<FitSettings> {
  if (!Array.isArray(views) || views.length === 0) {
    throw new ValueError(`views: expected a non-empty array of [h, w, 3] images, received ${describeValue(views)}`);
  }
  if (!Array.isArray(cameras) || cameras.length !== views.length) {
    throw new ValueError(`cameras: expected an array of ${views.length} cameras (one per view), received ${describeValue(cameras)}`);
  }
  cameras.forEach((c, i) => {
    if (!(c instanceof Camera)) throw new ValueError(`cameras[${i}]: expected a Camera, received ${describeValue(c)}`);
  });
  views.forEach((v, i) => {
    const name = `views[${i}]`;
    if (v === null || typeof v !== 'object' || !Array.isArray(v.shape)) {
      throw new ShapeError(`${name}: expected a float32 tensor [h, w, 3], received ${describeValue(v)}`);
    }
    if (v.isDisposed) throw new ValueError(`${name}: expected a live tensor, received a disposed one`);
    checkDtype(v, 'float32', name);
    const c = cameras[i]!;
    checkShape(v, [c.height, c.width, 3], `${name} (camera ${i} is ${c.width}×${c.height})`);
  });
  if (opts === undefined) throw new ValueError(`opts: expected { ${OPTION_KEYS.join(', ')} } with steps and init, received undefined`);
  const o = checkOptions(opts, OPTION_KEYS);
  const steps = checkRange(o.steps, { min: 0, max: MAX_FIT_STEPS, integer: true }, 'steps');
  const rates = resolveRates(o.lr);
  const densify = resolveDensify(o.densify);
  const { init, seed } = resolveInit(o.init);
  const background = o.background === undefined ? ([0, 0, 0] as [number, number, number]) : checkTriple(o.background, 'background', 0, 1);
  const defaultDegree = init.kind === 'gaussians' ? init.gaussians.shDegree : MAX_SH_DEGREE;
  const shDegree =
    o.shDegree === undefined ? defaultDegree : checkRange(o.shDegree, { min: 0, max: MAX_SH_DEGREE, integer: true }, 'shDegree');
  const lossWeights = resolveLossWeights(o.lossWeights);
  if (o.onStep !== undefined && typeof o.onStep !== 'function') {
    throw new ValueError(`onStep: expected a function, received ${describeValue(o.onStep)}`);
  }
  const signal = o.signal;
  checkSignal(signal);
  throwIfAborted(signal, 'before step 0');
  for (let i = 0; i < views.length; i++) {
    const stats = tf.tidy(() => {
      const v = views[i]!;
      // NaN fails both comparisons, so it counts as outside
      const inside = tf.logicalAnd(tf.greaterEqual(v, 0), tf.lessEqual(v, 1));
      return tf.stack([tf.sum(tf.cast(tf.logicalNot(inside), 'float32')), tf.min(v), tf.max(v)]);
    });
    const [outside, min, max] = (await stats.data()) as Float32Array;
    stats.dispose();
    if (outside! > 0) {
      throw new ValueError(
        `views[${i}]: expected values in [0, 1], received ${outside} outside it (min ${describeValue(min)}, max ${describeValue(max)})`,
      );
    }
  }
  if (init.kind === 'points') await checkFinite(init.points, 'init.points');
  return { steps, rates, densify, init, seed, background, shDegree, lossWeights, onStep: o.onStep, signal };
}
