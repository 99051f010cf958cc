import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkOptions, loadSafetensors, saveSafetensors, type Tensor, tf, type Variable, writeFileAtomic } from '@tessera/tensor-core';
import { heldOutWindows, splitBrown, trainBatch } from './data.js';
import { ByteLM, defaultConfig, jsonBytes, type LMConfig, type MixerKind, saveLM } from './model.js';

/** The layer mixes of the study (README: held-out bits per byte of each). */
export const MIXES = {
  deltanet: ['deltanet', 'deltanet', 'deltanet', 'deltanet'],
  gdn: ['gdn', 'gdn', 'gdn', 'gdn'],
  efla: ['efla', 'efla', 'efla', 'efla'],
  mamba3: ['mamba3', 'mamba3', 'mamba3', 'mamba3'],
  hybrid: ['gdn', 'gdn', 'sparse-attn', 'gdn'],
  hybrid2: ['gdn', 'sparse-attn', 'gdn', 'sparse-attn'],
} as const satisfies Record<string, readonly MixerKind[]>;
export type MixName = keyof typeof MIXES;

export interface TrainOptions {
  out: string;
  mix: MixName;
  /** Smoke-test size: runs end to end on the CPU in seconds. */
  tiny?: boolean;
  steps?: number;
  batch?: number;
  lr?: number;
  warmup?: number;
  weightDecay?: number;
  seed?: number;
  /** Save the state and return (status 'paused') before this many seconds have passed; resume by calling again. */
  maxSeconds?: number;
  /**
   * Size the run to end, evaluation included, within this many seconds: the first steps are timed and
   * `steps` becomes what the rest of the budget holds (at most `steps` when given, else 20 000). For a lent
   * GPU whose command time is capped, where a paused run's optimizer state is too large to bring back.
   */
  fitSeconds?: number;
  /** Continue from the checkpoint in `out` when one exists. */
  resume?: boolean;
  logEvery?: number;
  /** Held-out windows of `context` bytes for the final evaluation. */
  evalWindows?: number;
  device?: string;
  log?: (line: string) => void;
}
const TRAIN_KEYS = [
  'out',
  'mix',
  'tiny',
  'steps',
  'batch',
  'lr',
  'warmup',
  'weightDecay',
  'seed',
  'maxSeconds',
  'fitSeconds',
  'resume',
  'logEvery',
  'evalWindows',
  'device',
  'log',
] as const satisfies readonly (keyof TrainOptions)[];

export interface LogEntry {
  step: number;
  loss: number;
  lr: number;
  seconds: number;
}
export interface LMResults {
  date: string;
  device: string;
  mix: MixName;
  layers: MixerKind[];
  parameters: number;
  steps: number;
  batch: number;
  context: number;
  trainTokens: number;
  seconds: number;
  heldOut: { bitsPerByte: number; perplexity: number; windows: number; bytes: number; docs: number };
  finalTrainLoss: number;
}
export type TrainStatus = { status: 'done'; results: LMResults; log: LogEntry[] } | { status: 'paused'; step: number; log: LogEntry[] };

interface Progress {
  step: number;
  seconds: number;
  log: LogEntry[];
  hyper: Hyper;
}
interface Hyper {
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  seed: number;
}

export const TRAIN_FILES = {
  state: 'state.safetensors',
  progress: 'progress.json',
  log: 'train-log.json',
  results: 'results.json',
} as const;

export function configFor(mix: MixName, tiny: boolean, seed: number): LMConfig {
  const layers = [...MIXES[mix]] as MixerKind[];
  if (!tiny) return defaultConfig(layers, { seed });
  return defaultConfig(layers, {
    seed,
    dModel: 32,
    heads: 2,
    headDim: 16,
    mlpHidden: 64,
    context: 32,
    chunkSize: 16,
    mamba: { dState: 8, headDim: 16, expand: 2 },
    attention: { mode: 'sparse', bq: 16, bk: 16, topK: 0.5, topP: 0.9 },
  });
}

/** Linear warm-up to `lr`, then cosine to lr/10 at the last step. */
/** The most steps `fitSeconds` sizes a run to. */
export const FIT_MAX_STEPS = 20_000;

export function learningRate(step: number, h: Hyper): number {
  if (step < h.warmup) return (h.lr * (step + 1)) / h.warmup;
  const t = Math.min(1, (step - h.warmup) / Math.max(1, h.steps - h.warmup));
  return h.lr * (0.1 + 0.45 * (1 + Math.cos(Math.PI * t)));
}

/** Mean next-byte cross-entropy in nats: logits `[B, L, V]`, targets int32 `[B, L]`. */
function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  const v = logits.shape[2] as number;
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.reshape(targets, [-1]), v), tf.logSoftmax(tf.reshape(logits, [-1, v]))), -1)));
}

/** Held-out cross-entropy over `windows` (nats per byte). */
export async function evaluate(model: ByteLM, windows: Int32Array[], batch = 8): Promise<number> {
  let total = 0;
  let count = 0;
  const length = (windows[0]?.length ?? 1) - 1;
  for (let i = 0; i < windows.length; i += batch) {
    const group = windows.slice(i, i + batch);
    const buf = new Int32Array(group.length * (length + 1));
    for (const [j, w] of group.entries()) buf.set(w, j * (length + 1));
    const loss = tf.tidy(() => {
      const all = tf.tensor2d(buf, [group.length, length + 1], 'int32');
      const inputs = tf.slice(all, [0, 0], [group.length, length]);
      const targets = tf.slice(all, [0, 1], [group.length, length]);
      return crossEntropy(model.forward(inputs), targets);
    });
    total += ((await loss.data())[0] as number) * group.length;
    count += group.length;
    loss.dispose();
    await new Promise((r) => setImmediate(r));
  }
  return total / count;
}

/** AdamW moments, one pair per trainable variable, by the variable's path. */
class AdamW {
  readonly m = new Map<string, Variable>();
  readonly v = new Map<string, Variable>();
  constructor(readonly params: [string, Variable][]) {
    for (const [path, p] of params) {
      this.m.set(path, tf.variable(tf.zerosLike(p), false));
      this.v.set(path, tf.variable(tf.zerosLike(p), false));
    }
  }
  /** One update (t counts from 1) with global-norm clipping at 1; decay only on matrices (not norms, biases, A_log, dt_bias). */
  update(grads: Record<string, Tensor>, t: number, lr: number, wd: number): void {
    const b1 = 0.9;
    const b2 = 0.95;
    tf.tidy(() => {
      // a chain of adds, not tf.addN: WebGPU's AddN program binds every input and fails past the device's buffer limit
      const squares = this.params.map(([, p]) => tf.sum(tf.square(grads[p.name] as Tensor)));
      const norm = tf.sqrt(squares.reduce((a, b) => tf.add(a, b)));
      const scale = tf.minimum(1, tf.div(1, tf.add(norm, 1e-6)));
      for (const [path, p] of this.params) {
        const g = tf.mul(grads[p.name] as Tensor, scale);
        const m = this.m.get(path) as Variable;
        const v = this.v.get(path) as Variable;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const mh = tf.div(m, 1 - b1 ** t);
        const vh = tf.div(v, 1 - b2 ** t);
        let upd = tf.div(mh, tf.add(tf.sqrt(vh), 1e-8));
        if (p.rank >= 2 && wd > 0) upd = tf.add(upd, tf.mul(p, wd));
        p.assign(tf.sub(p, tf.mul(upd, lr)));
      }
    });
  }
  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
  }
}

/**
 * Trains (or resumes) one mix on the Brown corpus, writing into `out`: config.json, model.safetensors,
 * train-log.json and results.json when done; state.safetensors + progress.json (the resumable checkpoint) while
 * paused. Every file is written atomically.
 */
export async function trainLM(opts: TrainOptions): Promise<TrainStatus> {
  const o = checkOptions(opts, TRAIN_KEYS);
  if (!(o.mix in MIXES)) throw new Error(`mix: expected one of ${Object.keys(MIXES).join(', ')}, received "${String(o.mix)}"`);
  if (o.fitSeconds !== undefined && (!Number.isFinite(o.fitSeconds) || o.fitSeconds <= 0)) {
    throw new Error(`fitSeconds: expected a positive number, received ${o.fitSeconds}`);
  }
  const tiny = o.tiny === true;
  const log = o.log ?? ((line: string) => console.log(line));
  const hyper: Hyper = {
    steps: o.steps ?? (tiny ? 12 : 3000),
    batch: o.batch ?? (tiny ? 4 : 32),
    lr: o.lr ?? (tiny ? 1e-2 : 2e-3),
    warmup: o.warmup ?? (tiny ? 2 : 150),
    weightDecay: o.weightDecay ?? 0.1,
    seed: o.seed ?? 0,
  };
  const config = configFor(o.mix, tiny, hyper.seed);
  await mkdir(o.out, { recursive: true });
  const progressPath = join(o.out, TRAIN_FILES.progress);
  const statePath = join(o.out, TRAIN_FILES.state);
  let progress: Progress = { step: 0, seconds: 0, log: [], hyper };
  const resuming = o.resume === true && existsSync(progressPath) && existsSync(statePath);
  if (!resuming && existsSync(progressPath)) {
    throw new Error(`out: ${o.out} holds a paused run (progress.json); pass --resume to continue it or choose another --out`);
  }
  const split = splitBrown();
  const train = tiny ? split.train.subarray(0, 200_000) : split.train;
  const windows = heldOutWindows(split.heldOut, config.context, o.evalWindows ?? (tiny ? 4 : 256));
  const model = new ByteLM(config);
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  const adam = new AdamW(params);
  try {
    if (resuming) {
      progress = JSON.parse(await readFile(progressPath, 'utf8')) as Progress;
      Object.assign(hyper, progress.hyper);
      const saved = await loadSafetensors(statePath);
      try {
        model.loadStateDict(Object.fromEntries(Object.entries(saved).filter(([k]) => !k.startsWith('adam.'))));
        for (const [path] of params) {
          (adam.m.get(path) as Variable).assign(saved[`adam.m.${path}`] as Tensor);
          (adam.v.get(path) as Variable).assign(saved[`adam.v.${path}`] as Tensor);
        }
      } finally {
        tf.dispose(Object.values(saved));
      }
      log(`[lm] resumed ${o.mix} at step ${progress.step}/${hyper.steps}`);
    } else {
      await writeFileAtomic(join(o.out, 'config.json'), jsonBytes(config));
    }
    log(
      `[lm] mix ${o.mix} (${config.layers.join(', ')}), ${model.numParameters()} parameters, d ${config.dModel}, context ${config.context}, batch ${hyper.batch}, ${hyper.steps} steps; train ${train.length} bytes (${split.trainDocs} docs), held-out ${split.heldOut.length} bytes (${split.heldOutDocs} docs)`,
    );
    const start = performance.now();
    const elapsed = () => progress.seconds + (performance.now() - start) / 1000;
    const logEvery = o.logEvery ?? (tiny ? 1 : 50);
    // fitSeconds: steps [trialFrom, trialTo) are timed (after the first kernels compiled), then the run is sized;
    // the trial ends inside the warm-up, where the schedule does not yet depend on the step count
    const fit = o.fitSeconds;
    const trialFrom = 5;
    const trialTo = Math.max(trialFrom + 5, Math.min(40, hyper.warmup));
    let sizing = fit !== undefined && !resuming;
    if (sizing) hyper.steps = o.steps ?? FIT_MAX_STEPS;
    let trialStart = 0;
    let lastStep = 0;
    let lastLoss = Number.NaN;
    while (progress.step < hyper.steps) {
      if (o.maxSeconds !== undefined && elapsed() + 2 * lastStep > o.maxSeconds) {
        await saveState(o.out, model, adam, params, { ...progress, seconds: elapsed() });
        log(`[lm] out of time at step ${progress.step}: state saved in ${o.out}; run again with --resume`);
        return { status: 'paused', step: progress.step, log: progress.log };
      }
      const t0 = performance.now();
      const lr = learningRate(progress.step, hyper);
      const batch = trainBatch(train, progress.step, { batch: hyper.batch, length: config.context, seed: hyper.seed });
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(model.forward(batch.inputs), batch.targets) as tf.Scalar,
        params.map(([, p]) => p),
      );
      adam.update(grads, progress.step + 1, lr, hyper.weightDecay);
      lastLoss = (await value.data())[0] as number;
      tf.dispose([value, batch.inputs, batch.targets, ...Object.values(grads)]);
      if (!Number.isFinite(lastLoss)) throw new Error(`training diverged at step ${progress.step}: loss ${lastLoss}`);
      progress.step++;
      lastStep = (performance.now() - t0) / 1000;
      if (sizing && progress.step === trialFrom) trialStart = performance.now();
      if (sizing && progress.step === trialTo) {
        sizing = false;
        const perStep = (performance.now() - trialStart) / 1000 / (trialTo - trialFrom);
        // the evaluation runs windows/8 forward passes of a quarter batch; keep 8 % and 10 s for it and the saving
        const evalSeconds = (windows.length / 8) * perStep * 0.5 + 10;
        const left = (fit as number) * 0.92 - elapsed() - evalSeconds;
        hyper.steps = Math.min(hyper.steps, Math.max(progress.step, progress.step + Math.floor(left / perStep)));
        log(`[lm] ${(perStep * 1000).toFixed(1)} ms a step: sized to ${hyper.steps} steps for ${fit} s`);
      }
      if (progress.step % logEvery === 0 || progress.step === hyper.steps || progress.step === 1) {
        const entry = { step: progress.step, loss: lastLoss, lr, seconds: Number(elapsed().toFixed(2)) };
        progress.log.push(entry);
        log(
          `[lm] step ${entry.step}/${hyper.steps} loss ${lastLoss.toFixed(4)} (${(lastLoss / Math.LN2).toFixed(3)} bits/byte) lr ${lr.toExponential(2)} ${entry.seconds}s`,
        );
      }
      await new Promise((r) => setImmediate(r));
    }
    const nats = await evaluate(model, windows);
    const results: LMResults = {
      date: new Date().toISOString().slice(0, 10),
      device: o.device ?? tf.getBackend(),
      mix: o.mix,
      layers: config.layers,
      parameters: model.numParameters(),
      steps: hyper.steps,
      batch: hyper.batch,
      context: config.context,
      trainTokens: hyper.steps * hyper.batch * config.context,
      seconds: Number(elapsed().toFixed(1)),
      heldOut: {
        bitsPerByte: nats / Math.LN2,
        perplexity: Math.exp(nats),
        windows: windows.length,
        bytes: windows.length * config.context,
        docs: split.heldOutDocs,
      },
      finalTrainLoss: lastLoss,
    };
    log(
      `[lm] held-out: ${results.heldOut.bitsPerByte.toFixed(4)} bits/byte, perplexity ${results.heldOut.perplexity.toFixed(3)} per byte (${windows.length} windows)`,
    );
    await saveLM(model, o.out);
    await writeFileAtomic(join(o.out, TRAIN_FILES.log), jsonBytes(progress.log));
    await writeFileAtomic(join(o.out, TRAIN_FILES.results), jsonBytes(results));
    // the checkpoint is spent: a finished folder holds only what is committed
    const { rm } = await import('node:fs/promises');
    await rm(statePath, { force: true });
    await rm(progressPath, { force: true });
    return { status: 'done', results, log: progress.log };
  } finally {
    adam.dispose();
    model.dispose();
  }
}

async function saveState(out: string, model: ByteLM, adam: AdamW, params: [string, Variable][], progress: Progress): Promise<void> {
  const tensors: Record<string, Tensor> = { ...model.stateDict() };
  for (const [path] of params) {
    tensors[`adam.m.${path}`] = adam.m.get(path) as Variable;
    tensors[`adam.v.${path}`] = adam.v.get(path) as Variable;
  }
  // state first, then progress: a progress.json always has the state it names
  await saveSafetensors(join(out, TRAIN_FILES.state), tensors);
  await writeFileAtomic(join(out, TRAIN_FILES.progress), jsonBytes(progress));
}
