import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  attention,
  blockScores,
  distill,
  flowMatchingLoss,
  flowSample,
  flowSampleSpan,
  hybridMask,
  spargeAttention,
} from '@tessera/sparse-attention';
import {
  checkOptions,
  checkRange,
  describeValue,
  loadSafetensors,
  philoxUniform,
  philoxUniformArray,
  saveSafetensors,
  type Tensor,
  tf,
  throwIfAborted,
  ValueError,
  writeFileAtomic,
  yieldToEventLoop,
} from '@tessera/tensor-core';
import { checkDitConfig, DiT, DIT_CONFIG, type DitConfig, TINY_DIT_CONFIG } from './dit.js';
import { type ClipDistribution, tokenBatch, unpatchify } from './video.js';

/**
 * The sparse-attention distillation study (issue 11; papers/sparse.md A.3–A.4): pretrain a dense DiT
 * teacher on procedural clips, then compare three sparse students on held-out clips of the pretraining
 * distribution — (a) the teacher's weights with hybrid-mask sparse attention, untrained; (b) (a)
 * fine-tuned with the flow-matching loss on a small shifted set; (c) (a) fine-tuned on the same set by
 * velocity distillation from the frozen dense teacher.
 */

/** Everything besides the model that fixes a run: written to config.json beside the weights. */
export interface TrainingConfig {
  /** Clips per pretraining step (on the H100 a step's time grows about linearly with it: ≈ 23 clips/s). */
  batch: number;
  /** Clips per fine-tuning step of (b) and (c), and per evaluation batch. */
  finetuneBatch: number;
  /** Pretraining: peak learning rate, linear warm-up steps, then cosine decay to `lrFloor`·peak. */
  lr: number;
  warmup: number;
  lrFloor: number;
  /** Fine-tuning (b) and (c): steps and constant learning rate, on `shiftedClips` clips of the shifted set. */
  finetuneSteps: number;
  finetuneLr: number;
  shiftedClips: number;
  /** Hybrid-mask top-p values searched for the target sparsity (top-k stays at the config's). */
  topPGrid: number[];
  /** Sparsity the search aims at, and the band it accepts. */
  targetSparsity: number;
  sparsityBand: [number, number];
  /** Evaluation: held-out clips, random-t draws per clip, sampled clips and Euler steps. */
  evalClips: number;
  evalDraws: number;
  sampleClips: number;
  sampleSteps: number;
  /** Clips of each variant kept in samples.safetensors for the demo's PNG strip. */
  keptSamples: number;
}

export const TRAINING: TrainingConfig = {
  batch: 32,
  finetuneBatch: 8,
  lr: 5e-4,
  warmup: 100,
  lrFloor: 0.05,
  finetuneSteps: 200,
  finetuneLr: 1e-4,
  shiftedClips: 64,
  topPGrid: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  targetSparsity: 0.925,
  sparsityBand: [0.9, 0.95],
  evalClips: 16,
  evalDraws: 2,
  sampleClips: 8,
  sampleSteps: 20,
  keptSamples: 2,
};

export const TINY_TRAINING: TrainingConfig = {
  ...TRAINING,
  batch: 2,
  finetuneBatch: 2,
  warmup: 2,
  finetuneSteps: 3,
  shiftedClips: 4,
  topPGrid: [0.2, 0.5],
  targetSparsity: 0.7,
  sparsityBand: [0.5, 0.9],
  evalClips: 2,
  evalDraws: 1,
  sampleClips: 2,
  sampleSteps: 3,
  keptSamples: 1,
};

/** Philox seeds of every random draw, derived from the run's seed so that nothing is drawn twice. */
export function seedsFor(seed: number) {
  const base = seed * 16;
  return {
    init: base,
    pretrainData: base + 1,
    pretrainNoise: base + 2,
    shiftedData: base + 3,
    shiftedPick: base + 4,
    finetuneNoise: base + 5,
    heldOut: base + 6,
    evalNoise: base + 7,
    sampleNoise: base + 8,
    calibration: base + 9,
  };
}

export type Phase = 'pretrain' | 'finetune' | 'eval' | 'all';
export const PHASES: readonly Phase[] = ['pretrain', 'finetune', 'eval', 'all'];

export interface ExperimentOptions {
  /** Directory of checkpoints and results (created). */
  out: string;
  /** Which phases to run; 'all' runs (or resumes) each in turn. Default 'all'. */
  phase?: Phase;
  /** The smoke-test size (TINY_DIT_CONFIG, TINY_TRAINING). Default false. */
  tiny?: boolean;
  /** Pretraining steps. Default: with `maxSeconds`, sized from a 20-step timing trial to fit it; else tiny 4, full 20 000. */
  steps?: number;
  /** Overrides of the training config (e.g. finetuneSteps). */
  training?: Partial<TrainingConfig>;
  /** Wall-clock budget of this call in seconds: a phase that would overrun saves and returns. Default ∞. */
  maxSeconds?: number;
  /** The run's seed. Default 0. */
  seed?: number;
  /** Print the loss every this many steps. Default 50 (tiny 1). */
  logEvery?: number;
  /**
   * Seconds of the budget a sized pretraining leaves to the later phases (sparsity search, fine-tuning,
   * evaluation). Default: with phase 'all', 230 (the full run on an H100: 2 × 200 fine-tuning steps of
   * ~0.42 s and ~45 s of evaluation and timing), tiny 10; otherwise 0.
   */
  reserveSeconds?: number;
  /** Time one attention layer dense vs sparse (the GPU run). Default false. */
  timing?: boolean;
  /** Where the log lines go. Default console.log. */
  log?: (line: string) => void;
  /** A description of the device for results.json. */
  device?: string;
}

export interface ExperimentStatus {
  /** The phases that are complete in `out` after this call. */
  complete: Phase[];
  /** True when every phase is complete (results.json written). */
  done: boolean;
}

const OPTION_KEYS = [
  'out',
  'phase',
  'tiny',
  'steps',
  'training',
  'maxSeconds',
  'reserveSeconds',
  'seed',
  'logEvery',
  'timing',
  'log',
  'device',
] as const;

/** Files an experiment directory holds. */
export const FILES = {
  config: 'config.json',
  teacher: 'teacher.safetensors',
  pretrainState: 'pretrain-state.safetensors',
  pretrainLog: 'pretrain.json',
  studentB: 'student-b.safetensors',
  studentC: 'student-c.safetensors',
  finetuneLog: 'finetune.json',
  results: 'results.json',
  samples: 'samples.safetensors',
  log: 'train.log',
} as const;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

async function scalar(t: Tensor): Promise<number> {
  const v = (await t.data())[0] as number;
  return v;
}

/** What config.json holds. */
export interface ExperimentConfig {
  model: DitConfig;
  training: TrainingConfig;
  seed: number;
  seeds: ReturnType<typeof seedsFor>;
}

/** Batches of clips: fresh pretraining clips per step, or the small shifted set resampled per step. */
export class ClipSource {
  constructor(readonly config: ExperimentConfig) {}

  /** Pretraining batch `step`: clips step·B … step·B + B − 1 of the pretraining distribution. */
  pretrain(step: number): Tensor {
    const b = this.config.training.batch;
    return this.#tokens(
      Array.from({ length: b }, (_, i) => step * b + i),
      this.config.seeds.pretrainData,
      'pretrain',
    );
  }

  /** Fine-tuning batch `step`: B clips drawn with replacement from the `shiftedClips` clips of the shifted set. */
  shifted(step: number): Tensor {
    const { finetuneBatch: batch, shiftedClips } = this.config.training;
    const u = philoxUniformArray(batch, this.config.seeds.shiftedPick, step * batch);
    return this.#tokens(
      Array.from(u, (x) => Math.floor(x * shiftedClips)),
      this.config.seeds.shiftedData,
      'shifted',
    );
  }

  /** Held-out clips `indices` of the pretraining distribution (a seed no training batch uses). */
  heldOut(indices: number[]): Tensor {
    return this.#tokens(indices, this.config.seeds.heldOut, 'pretrain');
  }

  /** Calibration clips for the sparsity search (pretraining distribution, their own seed). */
  calibration(indices: number[]): Tensor {
    return this.#tokens(indices, this.config.seeds.calibration, 'pretrain');
  }

  #tokens(indices: number[], seed: number, distribution: ClipDistribution): Tensor {
    const { frames, size, patch } = this.config.model;
    return tokenBatch(indices, { frames, size, patch, seed, distribution });
  }
}

/** Standard normal `[...shape]` from Philox by Box–Muller: positions [offset, offset + 2·size). */
export function philoxNormal(shape: number[], seed: number, offset: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tidy(() => {
    const u1 = tf.sub(1, philoxUniform([n], { seed, offset }));
    const u2 = philoxUniform([n], { seed, offset: offset + n });
    return tf.reshape(tf.mul(tf.sqrt(tf.mul(-2, tf.log(u1))), tf.cos(tf.mul(2 * Math.PI, u2))), shape);
  });
}

/** Euler integration of dx/dt = u(x, t) from t = 1 (noise) to t = 0 in `steps` equal steps: `[B, L, C]`. */
export function sample(model: DiT, noise: Tensor, steps: number): Tensor {
  let x = tf.clone(noise);
  const b = noise.shape[0] as number;
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const t = tf.fill([b], 1 - i / steps);
      return tf.sub(x, tf.mul(model.velocity(x, t).velocity, 1 / steps));
    });
    x.dispose();
    x = next;
  }
  return x;
}

/** A DiT with `config`'s sizes in `mode`, holding `weights` (copied: the dict can be disposed afterwards). */
export function modelFrom(config: DitConfig, mode: 'dense' | 'sparse', weights: Record<string, Tensor>): DiT {
  const model = new DiT(config, { mode });
  model.loadStateDict(weights);
  return model;
}

/** Linear warm-up, then cosine decay to lrFloor·lr at `total`; the peak while `total` is unknown (0). */
function lrAt(step: number, total: number, t: TrainingConfig): number {
  if (step < t.warmup) return (t.lr * (step + 1)) / t.warmup;
  if (total === 0) return t.lr;
  const progress = Math.min(1, (step - t.warmup) / Math.max(1, total - t.warmup));
  return t.lr * (t.lrFloor + (1 - t.lrFloor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // tfjs' Adam reads its (protected) learningRate on every update
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

interface PretrainLog {
  step: number;
  totalSteps: number;
  stepMs: number;
  seconds: number;
  /** [step, mean loss over the logging window]. */
  losses: [number, number][];
}

interface StudentLog {
  steps: number;
  seconds: number;
  /** Per step. */
  losses: number[];
  sparsity: number[];
}

interface FinetuneLog {
  grid: { topK: number; topP: number; sparsity: number; velocityMse: number }[];
  topK: number;
  topP: number;
  b?: StudentLog;
  c?: StudentLog;
}

/** One row of the ablation table. */
export interface ResultRow {
  variant: 'teacher' | 'a' | 'b' | 'c';
  description: string;
  /** Mean ‖u − u_teacher‖² per element on held-out clips at random t. */
  velocityMse: number;
  /** Flow-matching loss (target ε − x0) on the same held-out x_t. */
  flowLoss: number;
  /** Euler samples from the teacher's noise: MSE and PSNR (peak-to-peak 2) against the teacher's sample; PSNR null for the teacher. */
  sampleMse: number;
  samplePsnr: number | null;
  /** Mean block-mask sparsity over layers and evaluation batches. */
  sparsity: number;
}

export interface Results {
  date: string;
  device: string;
  backend: string;
  config: ExperimentConfig;
  pretrain: { steps: number; finalLoss: number; seconds: number; stepMs: number };
  finetune: {
    grid: FinetuneLog['grid'];
    topK: number;
    topP: number;
    b: { finalLoss: number; seconds: number };
    c: { finalLoss: number; seconds: number };
  };
  rows: ResultRow[];
  timing?: AttentionTiming;
}

export interface AttentionTiming {
  /** Shapes timed: one attention layer on the teacher's real layer-0 activations. */
  shape: { batch: number; heads: number; length: number; headDim: number };
  /** Milliseconds (median of rounds): per batch size. */
  rows: { batch: number; denseMs: number; sparseMs: number; maskMs: number; sparsity: number; speedup: number }[];
  /** Whole velocity forward at the training batch: dense teacher vs sparse student. */
  forward: { batch: number; denseMs: number; sparseMs: number };
}

/** The logger that also keeps every line for train.log. */
class Logger {
  readonly lines: string[] = [];
  constructor(readonly sink: (line: string) => void) {}
  say(line: string): void {
    this.lines.push(line);
    this.sink(line);
  }
}

/**
 * Runs (or resumes) the experiment's phases in `opts.out`. Each phase checks the time left and, when it
 * would overrun `maxSeconds`, saves its state and returns; calling again continues. Writes are atomic.
 */
export async function runExperiment(opts: ExperimentOptions): Promise<ExperimentStatus> {
  const o = checkOptions(opts, OPTION_KEYS);
  if (typeof o.out !== 'string' || o.out === '')
    throw new ValueError(`opts.out: expected a directory path, received ${describeValue(o.out)}`);
  const phase = o.phase ?? 'all';
  if (!PHASES.includes(phase)) throw new ValueError(`opts.phase: expected one of ${PHASES.join(', ')}, received ${describeValue(phase)}`);
  const seed = checkRange(o.seed ?? 0, { min: 0, max: 2 ** 32, integer: true }, 'opts.seed');
  const maxSeconds = o.maxSeconds === undefined ? Number.POSITIVE_INFINITY : checkRange(o.maxSeconds, { min: 1 }, 'opts.maxSeconds');
  const deadline = performance.now() + maxSeconds * 1000;
  const logger = new Logger(o.log ?? ((line) => console.log(line)));
  await mkdir(o.out, { recursive: true });
  const path = (name: string) => join(o.out, name);
  if (await exists(path(FILES.log))) logger.lines.push(...(await readFile(path(FILES.log), 'utf8')).trimEnd().split('\n'));
  const flushLog = () => writeFileAtomic(path(FILES.log), new TextEncoder().encode(`${logger.lines.join('\n')}\n`));

  let config: ExperimentConfig;
  if (await exists(path(FILES.config))) {
    config = await readJson<ExperimentConfig>(path(FILES.config));
    config.model = checkDitConfig(config.model, 'config.json model');
  } else {
    const training = { ...(o.tiny ? TINY_TRAINING : TRAINING), ...o.training };
    config = { model: { ...(o.tiny ? TINY_DIT_CONFIG : DIT_CONFIG) }, training, seed, seeds: seedsFor(seed) };
    await writeJson(path(FILES.config), config);
  }
  const ctx: Ctx = {
    config,
    data: new ClipSource(config),
    path,
    logger,
    deadline,
    logEvery: o.logEvery ?? (o.tiny ? 1 : 50),
    steps: o.steps,
    reserveMs:
      1000 *
      (o.reserveSeconds === undefined
        ? phase === 'all'
          ? o.tiny
            ? 10
            : 230
          : 0
        : checkRange(o.reserveSeconds, { min: 0 }, 'opts.reserveSeconds')),
    tiny: o.tiny === true,
    timing: o.timing === true,
    device: o.device ?? tf.getBackend(),
  };
  logger.say(
    `[sparse] backend ${tf.getBackend()}, out ${o.out}, phase ${phase}, budget ${Number.isFinite(maxSeconds) ? `${maxSeconds} s` : 'none'}`,
  );
  const complete: Phase[] = [];
  try {
    for (const p of ['pretrain', 'finetune', 'eval'] as const) {
      if (phase !== 'all' && phase !== p) {
        if (await phaseDone(ctx, p)) complete.push(p);
        continue;
      }
      const finished = p === 'pretrain' ? await pretrain(ctx) : p === 'finetune' ? await finetune(ctx) : await evaluate(ctx);
      if (!finished) break;
      complete.push(p);
    }
  } finally {
    await flushLog();
  }
  return { complete, done: await exists(path(FILES.results)) };
}

interface Ctx {
  config: ExperimentConfig;
  data: ClipSource;
  path: (name: string) => string;
  logger: Logger;
  deadline: number;
  logEvery: number;
  steps: number | undefined;
  reserveMs: number;
  tiny: boolean;
  timing: boolean;
  device: string;
}

async function phaseDone(ctx: Ctx, p: 'pretrain' | 'finetune' | 'eval'): Promise<boolean> {
  if (p === 'eval') return exists(ctx.path(FILES.results));
  if (p === 'finetune') return (await exists(ctx.path(FILES.studentB))) && (await exists(ctx.path(FILES.studentC)));
  if (!(await exists(ctx.path(FILES.pretrainLog)))) return false;
  const log = await readJson<PretrainLog>(ctx.path(FILES.pretrainLog));
  return log.step >= log.totalSteps;
}

const msLeft = (ctx: Ctx) => ctx.deadline - performance.now();

async function loadTeacher(ctx: Ctx): Promise<DiT> {
  const weights = await loadSafetensors(ctx.path(FILES.teacher));
  try {
    return modelFrom(ctx.config.model, 'dense', weights);
  } finally {
    tf.dispose(Object.values(weights));
  }
}

async function saveOptimizer(path: string, optimizer: tf.Optimizer): Promise<void> {
  const named = await optimizer.getWeights();
  const dict = Object.fromEntries(named.map((w, i) => [`${String(i).padStart(4, '0')}`, w.tensor]));
  await saveSafetensors(path, dict);
  // getWeights returns the iteration count as a fresh tensor; the moments are the optimizer's own
  named[0]?.tensor.dispose();
}

async function loadOptimizer(path: string, optimizer: tf.Optimizer): Promise<void> {
  const dict = await loadSafetensors(path);
  const keys = Object.keys(dict).sort();
  await optimizer.setWeights(keys.map((k, i) => ({ name: i === 0 ? 'iter' : k, tensor: dict[k] as Tensor })));
  tf.dispose(Object.values(dict));
}

/** Steps before, and steps of, the timing trial that sizes a budgeted pretraining. */
const TRIAL_WARMUP = 10;
const TRIAL_STEPS = 20;
/** Most pretraining steps a budget may size. */
const MAX_PRETRAIN_STEPS = 100_000;

/** Pretraining of the dense teacher with the flow-matching loss on fresh clips. Returns true when complete. */
async function pretrain(ctx: Ctx): Promise<boolean> {
  const { config, logger } = ctx;
  const t = config.training;
  const logPath = ctx.path(FILES.pretrainLog);
  // without --steps, a budget sizes the run from a timing trial (totalSteps 0 until then)
  const defaultSteps = Number.isFinite(ctx.deadline) ? 0 : ctx.tiny ? 4 : 20_000;
  let log: PretrainLog = { step: 0, totalSteps: ctx.steps ?? defaultSteps, stepMs: 0, seconds: 0, losses: [] };
  const resuming = await exists(logPath);
  if (resuming) log = await readJson<PretrainLog>(logPath);
  if (resuming && log.step >= log.totalSteps) {
    logger.say(`[pretrain] complete (${log.step} steps)`);
    return true;
  }
  const model = resuming ? await loadTeacher(ctx) : new DiT(config.model, { mode: 'dense', seed: config.seeds.init });
  const optimizer = tf.train.adam(t.lr, 0.9, 0.99);
  const variables = model.parameters();
  if (resuming) {
    // a checkpoint carried without its optimizer state (the device's upload limit) resumes with fresh moments
    if (await exists(ctx.path(FILES.pretrainState))) await loadOptimizer(ctx.path(FILES.pretrainState), optimizer);
    else logger.say(`[pretrain] no ${FILES.pretrainState}: Adam restarts with zero moments at step ${log.step}`);
  }
  if (!resuming) logger.say(`[pretrain] DiT with ${model.numParameters()} parameters, ${model.tokens} tokens of ${model.channels}`);
  const start = performance.now();
  const startStep = log.step;
  const span = flowSampleSpan([t.batch, model.tokens, model.channels]);
  const pending: { step: number; loss: Tensor }[] = [];
  let windowSum = 0;
  let windowCount = 0;
  let trialStart = 0;
  const drain = async () => {
    for (const p of pending) {
      const value = await scalar(p.loss);
      if (!Number.isFinite(value)) throw new ValueError(`pretraining loss: expected a finite value at step ${p.step}, received ${value}`);
      windowSum += value;
      windowCount++;
      p.loss.dispose();
    }
    pending.length = 0;
  };
  const save = async () => {
    await drain();
    log.seconds += (performance.now() - start) / 1000;
    await saveSafetensors(ctx.path(FILES.teacher), model.stateDict());
    await saveOptimizer(ctx.path(FILES.pretrainState), optimizer);
    await writeJson(logPath, log);
  };
  try {
    let step = log.step;
    let saveMs = 0;
    for (;;) {
      if (log.totalSteps === 0 && step === startStep + TRIAL_WARMUP) {
        // the first steps compile the GPU pipelines: time the next TRIAL_STEPS from an idle queue
        await drain();
        trialStart = performance.now();
      }
      if (log.totalSteps === 0 && step === startStep + TRIAL_WARMUP + TRIAL_STEPS) {
        await drain();
        const stepMs = (performance.now() - trialStart) / TRIAL_STEPS;
        const fit = Math.floor((msLeft(ctx) - ctx.reserveMs - 10_000) / stepMs) + step;
        log.totalSteps = Math.max(step, Math.min(MAX_PRETRAIN_STEPS, fit));
        log.stepMs = stepMs;
        logger.say(
          `[pretrain] ${stepMs.toFixed(1)} ms/step: ${log.totalSteps} steps fit the budget less ${(ctx.reserveMs / 1000).toFixed(0)} s reserved for the later phases`,
        );
      }
      if (log.totalSteps > 0 && step >= log.totalSteps) break;
      const elapsedPerStep = step > startStep ? (performance.now() - start) / (step - startStep) : 0;
      if (msLeft(ctx) < 2 * elapsedPerStep + saveMs + 5_000) {
        log.step = step;
        const s = performance.now();
        await save();
        saveMs = performance.now() - s;
        logger.say(`[pretrain] out of time at step ${step}/${log.totalSteps}: saved, run again to continue`);
        return false;
      }
      setLearningRate(optimizer, lrAt(step, log.totalSteps, t));
      const x0 = ctx.data.pretrain(step);
      const loss = optimizer.minimize(
        () => flowMatchingLoss(model, x0, { seed: config.seeds.pretrainNoise, offset: step * span }).loss as tf.Scalar,
        true,
        variables,
      ) as Tensor;
      x0.dispose();
      pending.push({ step, loss });
      step++;
      if (step % ctx.logEvery === 0 || step === log.totalSteps) {
        await drain();
        const mean = windowSum / Math.max(1, windowCount);
        log.losses.push([step, mean]);
        logger.say(
          `[pretrain] step ${step}/${log.totalSteps || '?'} loss ${mean.toFixed(4)} lr ${lrAt(step - 1, log.totalSteps, t).toExponential(2)}`,
        );
        windowSum = 0;
        windowCount = 0;
      }
      await yieldToEventLoop();
    }
    log.step = step;
    if (log.stepMs === 0) log.stepMs = (performance.now() - start) / Math.max(1, step - startStep);
    await save();
    logger.say(`[pretrain] complete: ${step} steps, ${log.seconds.toFixed(0)} s`);
    return true;
  } finally {
    tf.dispose(pending.map((p) => p.loss));
    optimizer.dispose();
    model.dispose();
  }
}

/** Velocity MSE to the teacher and sparsity of `student` on x_t of held-out `x0`. */
async function velocityGap(teacher: DiT, student: DiT, xt: Tensor, t: Tensor): Promise<{ mse: number; sparsity: number }> {
  const r = tf.tidy(() => {
    const u = teacher.velocity(xt, t).velocity;
    const s = student.velocity(xt, t);
    return { mse: tf.mean(tf.square(tf.sub(s.velocity, u))), sparsity: s.sparsity };
  });
  const out = { mse: await scalar(r.mse), sparsity: await scalar(r.sparsity) };
  tf.dispose([r.mse, r.sparsity]);
  return out;
}

/** The sparsity search, then students (b) and (c). Returns true when both students are saved. */
async function finetune(ctx: Ctx): Promise<boolean> {
  const { config, logger } = ctx;
  const t = config.training;
  const logPath = ctx.path(FILES.finetuneLog);
  const teacher = await loadTeacher(ctx);
  try {
    let log: FinetuneLog;
    if (await exists(logPath)) {
      log = await readJson<FinetuneLog>(logPath);
    } else {
      // the hybrid mask's top-p for ≈ targetSparsity on this model, measured on calibration clips
      const x0 = ctx.data.calibration(Array.from({ length: t.finetuneBatch }, (_, i) => i));
      const s = flowSample(x0, config.seeds.calibration, 0);
      const grid: FinetuneLog['grid'] = [];
      for (const topP of t.topPGrid) {
        const probe = modelFrom({ ...config.model, topP }, 'sparse', teacher.stateDict());
        const g = await velocityGap(teacher, probe, s.xt, s.t);
        probe.dispose();
        grid.push({ topK: config.model.topK, topP, sparsity: g.sparsity, velocityMse: g.mse });
        logger.say(
          `[finetune] topK ${config.model.topK} topP ${topP}: sparsity ${(100 * g.sparsity).toFixed(1)} %, velocity MSE ${g.mse.toExponential(3)}`,
        );
        await yieldToEventLoop();
      }
      tf.dispose([x0, s.t, s.noise, s.xt]);
      const [lo, hi] = t.sparsityBand;
      const inBand = grid.filter((g) => g.sparsity >= lo && g.sparsity <= hi);
      const pool = inBand.length > 0 ? inBand : grid;
      const best = pool.reduce((a, b) => (Math.abs(b.sparsity - t.targetSparsity) < Math.abs(a.sparsity - t.targetSparsity) ? b : a));
      log = { grid, topK: best.topK, topP: best.topP };
      logger.say(
        `[finetune] chose topK ${best.topK}, topP ${best.topP}: sparsity ${(100 * best.sparsity).toFixed(1)} %${inBand.length === 0 ? ' (none of the grid in the band)' : ''}`,
      );
      config.model = { ...config.model, topK: best.topK, topP: best.topP };
      await writeJson(ctx.path(FILES.config), config);
      await writeJson(logPath, log);
    }
    for (const variant of ['b', 'c'] as const) {
      const file = ctx.path(variant === 'b' ? FILES.studentB : FILES.studentC);
      if (await exists(file)) continue;
      const student = modelFrom(config.model, 'sparse', teacher.stateDict());
      const optimizer = tf.train.adam(t.finetuneLr, 0.9, 0.99);
      const start = performance.now();
      const losses: number[] = [];
      const sparsity: number[] = [];
      const controller = new AbortController();
      const budget = msLeft(ctx) - 5_000;
      const timer = Number.isFinite(budget) ? setTimeout(() => controller.abort(), Math.max(0, budget)) : undefined;
      const onStep = ({ step, loss, sparsity: s }: { step: number; loss: number; sparsity: number }) => {
        losses.push(loss);
        sparsity.push(s);
        if ((step + 1) % ctx.logEvery === 0 || step + 1 === t.finetuneSteps) {
          logger.say(
            `[finetune ${variant}] step ${step + 1}/${t.finetuneSteps} loss ${loss.toExponential(3)} sparsity ${(100 * s).toFixed(1)} %`,
          );
        }
      };
      try {
        if (variant === 'b') {
          await diffusionFinetune(ctx, student, optimizer, onStep, controller.signal);
        } else {
          await distill({
            teacher,
            student,
            batches: (step: number) => ctx.data.shifted(step),
            steps: t.finetuneSteps,
            optimizer,
            seed: config.seeds.finetuneNoise,
            onStep,
            signal: controller.signal,
          });
        }
      } catch (e) {
        if (!controller.signal.aborted) throw e;
        logger.say(`[finetune ${variant}] out of time after ${losses.length} steps: run again to redo this student`);
        return false;
      } finally {
        clearTimeout(timer);
        optimizer.dispose();
      }
      try {
        if (controller.signal.aborted) return false;
        log[variant] = { steps: t.finetuneSteps, seconds: (performance.now() - start) / 1000, losses, sparsity };
        await saveSafetensors(file, student.stateDict());
        await writeJson(logPath, log);
        logger.say(`[finetune ${variant}] saved after ${log[variant]?.seconds.toFixed(1)} s`);
      } finally {
        student.dispose();
      }
    }
    return true;
  } finally {
    teacher.dispose();
  }
}

/** Student (b): the ordinary flow-matching loss on the shifted set (Case 3), same batches and schedule as (c). */
async function diffusionFinetune(
  ctx: Ctx,
  student: DiT,
  optimizer: tf.Optimizer,
  onStep: (s: { step: number; loss: number; sparsity: number }) => void,
  signal: AbortSignal,
): Promise<void> {
  const t = ctx.config.training;
  const variables = student.parameters();
  for (let step = 0; step < t.finetuneSteps; step++) {
    throwIfAborted(signal, `before fine-tuning step ${step}`);
    const x0 = ctx.data.shifted(step);
    let sparsity: Tensor | undefined;
    const loss = optimizer.minimize(
      () => {
        const r = flowMatchingLoss(student, x0, { seed: ctx.config.seeds.finetuneNoise, offset: step * flowSampleSpan(x0.shape) });
        sparsity = tf.keep(r.sparsity);
        return r.loss as tf.Scalar;
      },
      true,
      variables,
    ) as Tensor;
    x0.dispose();
    const l = await scalar(loss);
    const s = await scalar(sparsity as Tensor);
    tf.dispose([loss, sparsity as Tensor]);
    onStep({ step, loss: l, sparsity: s });
    await yieldToEventLoop();
  }
}

/** The loaded teacher and students of an experiment directory. */
export interface Variants {
  teacher: DiT;
  a: DiT;
  b: DiT;
  c: DiT;
  dispose(): void;
}

/** Loads the teacher (dense), (a) = the teacher's weights in sparse mode, and students (b) and (c) from `dir`. */
export async function loadVariants(dir: string, config: DitConfig): Promise<Variants> {
  const load = async (file: string, mode: 'dense' | 'sparse') => {
    const weights = await loadSafetensors(join(dir, file));
    try {
      return modelFrom(config, mode, weights);
    } finally {
      tf.dispose(Object.values(weights));
    }
  };
  const teacher = await load(FILES.teacher, 'dense');
  const a = modelFrom(config, 'sparse', teacher.stateDict());
  const b = await load(FILES.studentB, 'sparse');
  const c = await load(FILES.studentC, 'sparse');
  return {
    teacher,
    a,
    b,
    c,
    dispose() {
      for (const m of [teacher, a, b, c]) m.dispose();
    },
  };
}

const DESCRIPTIONS: Record<ResultRow['variant'], string> = {
  teacher: 'dense teacher (sanity row)',
  a: '(a) sparse, no training',
  b: '(b) sparse, flow-matching fine-tune on the shifted set',
  c: '(c) sparse, velocity distillation on the shifted set',
};

/** Peak-signal-to-noise ratio of clips in [−1, 1] (peak-to-peak 2). */
export function psnrFromMse(mse: number): number | null {
  return mse > 0 ? 10 * Math.log10(4 / mse) : null;
}

/**
 * Velocity MSE to the teacher, held-out flow-matching loss and sparsity of each variant on held-out clips
 * `clips` at `draws` random-t draws each (x_t shared by all variants).
 */
export async function velocityTable(
  variants: Variants,
  data: ClipSource,
  opts: { clips: number; draws: number; batch: number; onBatch?: () => void },
): Promise<Record<ResultRow['variant'], { velocityMse: number; flowLoss: number; sparsity: number }>> {
  const names = ['teacher', 'a', 'b', 'c'] as const;
  const sums = Object.fromEntries(names.map((n) => [n, { velocityMse: 0, flowLoss: 0, sparsity: 0 }])) as Record<
    ResultRow['variant'],
    { velocityMse: number; flowLoss: number; sparsity: number }
  >;
  let batches = 0;
  const seeds = data.config.seeds;
  for (let first = 0; first < opts.clips; first += opts.batch) {
    const indices = Array.from({ length: Math.min(opts.batch, opts.clips - first) }, (_, i) => first + i);
    const x0 = data.heldOut(indices);
    for (let d = 0; d < opts.draws; d++) {
      const s = flowSample(x0, seeds.evalNoise, (d * opts.clips + first) * flowSampleSpan(x0.shape));
      const target = tf.sub(s.noise, x0);
      const u = variants.teacher.velocity(s.xt, s.t);
      for (const n of names) {
        const r = tf.tidy(() => {
          const v = n === 'teacher' ? u : variants[n].velocity(s.xt, s.t);
          return {
            mse: tf.mean(tf.square(tf.sub(v.velocity, u.velocity))),
            flow: tf.mean(tf.square(tf.sub(v.velocity, target))),
            sparsity: tf.clone(v.sparsity),
          };
        });
        sums[n].velocityMse += await scalar(r.mse);
        sums[n].flowLoss += await scalar(r.flow);
        sums[n].sparsity += await scalar(r.sparsity);
        tf.dispose([r.mse, r.flow, r.sparsity]);
        await yieldToEventLoop();
      }
      tf.dispose([s.t, s.noise, s.xt, target, u.velocity, u.sparsity]);
      batches++;
      opts.onBatch?.();
    }
    x0.dispose();
  }
  for (const n of names) {
    sums[n].velocityMse /= batches;
    sums[n].flowLoss /= batches;
    sums[n].sparsity /= batches;
  }
  return sums;
}

/** Evaluation of the teacher and (a)/(b)/(c) on held-out clips; writes results.json and samples.safetensors. */
async function evaluate(ctx: Ctx): Promise<boolean> {
  const { config, logger } = ctx;
  const t = config.training;
  const pre = await readJson<PretrainLog>(ctx.path(FILES.pretrainLog));
  const ft = await readJson<FinetuneLog>(ctx.path(FILES.finetuneLog));
  const variants = await loadVariants(ctx.path(''), config.model);
  try {
    const table = await velocityTable(variants, ctx.data, { clips: t.evalClips, draws: t.evalDraws, batch: t.finetuneBatch });
    logger.say('[eval] velocity MSE to the teacher done; sampling');
    const names = ['teacher', 'a', 'b', 'c'] as const;
    const sampleSums = { teacher: 0, a: 0, b: 0, c: 0 };
    const kept: Record<string, Tensor> = {};
    let sampled = 0;
    for (let first = 0; first < t.sampleClips; first += t.finetuneBatch) {
      const b = Math.min(t.finetuneBatch, t.sampleClips - first);
      const noise = philoxNormal(
        [b, variants.teacher.tokens, variants.teacher.channels],
        config.seeds.sampleNoise,
        first * 2 * variants.teacher.tokens * variants.teacher.channels,
      );
      const reference = tf.tidy(() => tf.clipByValue(sample(variants.teacher, noise, t.sampleSteps), -1, 1));
      for (const n of names) {
        const x = n === 'teacher' ? tf.clone(reference) : tf.tidy(() => tf.clipByValue(sample(variants[n], noise, t.sampleSteps), -1, 1));
        const mse = tf.tidy(() => tf.mean(tf.square(tf.sub(x, reference))));
        sampleSums[n] += (await scalar(mse)) * b;
        mse.dispose();
        if (first === 0) {
          kept[n] = tf.tidy(() => unpatchify(tf.slice(x, [0, 0, 0], [Math.min(b, t.keptSamples), -1, -1]), config.model));
        }
        x.dispose();
        await yieldToEventLoop();
      }
      sampled += b;
      tf.dispose([noise, reference]);
    }
    await saveSafetensors(ctx.path(FILES.samples), kept, {
      metadata: { producer: 'tessera-demo train:sparse', layout: '[N, F, H, W, 3] in [-1, 1]' },
    });
    tf.dispose(Object.values(kept));
    const rows: ResultRow[] = names.map((n) => {
      const sampleMse = sampleSums[n] / sampled;
      return { variant: n, description: DESCRIPTIONS[n], ...table[n], sampleMse, samplePsnr: psnrFromMse(sampleMse) };
    });
    for (const r of rows) {
      logger.say(
        `[eval] ${r.variant.padEnd(7)} velocity MSE ${r.velocityMse.toExponential(3)}  flow loss ${r.flowLoss.toFixed(4)}  sample PSNR ${r.samplePsnr === null ? '—' : r.samplePsnr.toFixed(2)} dB  sparsity ${(100 * r.sparsity).toFixed(1)} %`,
      );
    }
    const timing = ctx.timing ? await timeAttention(ctx, variants) : undefined;
    const last = (xs: number[]) => xs.slice(-20).reduce((a, b) => a + b, 0) / Math.max(1, Math.min(20, xs.length));
    const results: Results = {
      date: new Date().toISOString(),
      device: ctx.device,
      backend: tf.getBackend(),
      config,
      pretrain: { steps: pre.step, finalLoss: pre.losses.at(-1)?.[1] ?? Number.NaN, seconds: pre.seconds, stepMs: pre.stepMs },
      finetune: {
        grid: ft.grid,
        topK: ft.topK,
        topP: ft.topP,
        b: { finalLoss: last(ft.b?.losses ?? []), seconds: ft.b?.seconds ?? 0 },
        c: { finalLoss: last(ft.c?.losses ?? []), seconds: ft.c?.seconds ?? 0 },
      },
      rows,
      ...(timing ? { timing } : {}),
    };
    await writeJson(ctx.path(FILES.results), results);
    logger.say(`[eval] wrote ${FILES.results}`);
    return true;
  } finally {
    variants.dispose();
  }
}

/** Times one attention layer (the teacher's layer 0, real activations) dense vs sparse, and the whole forward. */
async function timeAttention(ctx: Ctx, variants: Variants): Promise<AttentionTiming> {
  const { bench } = await import('@tessera/tensor-core/bench');
  const m = ctx.config.model;
  const headDim = m.width / m.heads;
  const rows: AttentionTiming['rows'] = [];
  const x0 = ctx.data.heldOut(Array.from({ length: ctx.config.training.finetuneBatch }, (_, i) => i));
  const s = flowSample(x0, ctx.config.seeds.evalNoise, 0);
  const layer = variants.teacher.blocks[0];
  if (!layer) throw new ValueError('the model has no blocks');
  for (const batch of [1, ctx.config.training.finetuneBatch]) {
    const [q, k, v] = tf.tidy(() => {
      const x = variants.teacher.attentionInput(tf.slice(s.xt, 0, batch), tf.slice(s.t, 0, batch), 0);
      const heads = (y: Tensor) => tf.transpose(tf.reshape(y, [batch, -1, m.heads, headDim]), [0, 2, 1, 3]);
      return [heads(layer.attn.qProj.forward(x)), heads(layer.attn.kProj.forward(x)), heads(layer.attn.vProj.forward(x))];
    }) as [Tensor, Tensor, Tensor];
    const mask = { bq: m.bq, bk: m.bk, topK: m.topK, topP: m.topP };
    const dense = await bench('dense', () => attention(q, k, v), { rounds: 9 });
    const sparse = await bench('sparse', () => spargeAttention(q, k, v, mask), { rounds: 9 });
    const maskOnly = await bench(
      'mask',
      () => {
        const scores = blockScores(q, k, { bq: m.bq, bk: m.bk });
        const bm = hybridMask(scores, { topK: m.topK, topP: m.topP, bq: m.bq, bk: m.bk });
        const kept = tf.clone(bm.kvNumBlocks);
        scores.dispose();
        bm.dispose();
        return kept;
      },
      { rounds: 9 },
    );
    const r = spargeAttention(q, k, v, mask);
    const sparsity = await scalar(r.sparsity);
    tf.dispose([r.output, r.sparsity, q, k, v]);
    rows.push({
      batch,
      denseMs: dense.median,
      sparseMs: sparse.median,
      maskMs: maskOnly.median,
      sparsity,
      speedup: dense.median / sparse.median,
    });
    ctx.logger.say(
      `[timing] B=${batch} H=${m.heads} L=${variants.teacher.tokens} D=${headDim}: dense ${dense.median.toFixed(3)} ms, sparse ${sparse.median.toFixed(3)} ms (mask ${maskOnly.median.toFixed(3)} ms) at ${(100 * sparsity).toFixed(1)} % sparsity`,
    );
  }
  const fwd = async (model: DiT) => (await bench('forward', () => model.velocity(s.xt, s.t), { rounds: 5 })).median;
  const forward = { batch: ctx.config.training.finetuneBatch, denseMs: await fwd(variants.teacher), sparseMs: await fwd(variants.a) };
  ctx.logger.say(
    `[timing] velocity forward B=${forward.batch}: dense ${forward.denseMs.toFixed(2)} ms, sparse ${forward.sparseMs.toFixed(2)} ms`,
  );
  tf.dispose([x0, s.t, s.noise, s.xt]);
  return { shape: { batch: ctx.config.training.finetuneBatch, heads: m.heads, length: variants.teacher.tokens, headDim }, rows, forward };
}
