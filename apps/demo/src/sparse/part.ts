import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockScores, hybridMask } from '@tessera/sparse-attention';
import { FormatError, loadSafetensors, type Tensor, TesseraError, tf, writeFileAtomic } from '@tessera/tensor-core';
import { checkDitConfig, type DiT } from './dit.js';
import { ClipSource, type ExperimentConfig, FILES, loadVariants, philoxNormal, type Results, type ResultRow } from './experiment.js';
import { noProgress, type Progress } from '../progress.js';
import { encodeRgbPng, stripImage } from './video.js';

/** The committed study: weights, config and results of the full run (apps/demo/weights/sparse-dit). */
export const SPARSE_WEIGHTS = fileURLToPath(new URL('../../weights/sparse-dit/', import.meta.url));

/** Times at which the demo recomputes the velocity gap: one held-out clip, one x_t each (a forward at L = 2048 takes seconds on WASM). */
const DEMO_TIMES = [0.5];

export interface SparseReport {
  /** The committed full evaluation (results.json of the GPU run). */
  committed: Pick<Results, 'date' | 'device' | 'rows' | 'finetune' | 'pretrain' | 'timing'>;
  /** What this run recomputed: velocity MSE to the teacher of (a)/(b)/(c) on held-out clip `clip` at `times`. */
  local: {
    backend: string;
    clip: number;
    times: number[];
    rows: { variant: 'a' | 'b' | 'c'; velocityMse: number; sparsity: number }[];
    seconds: number;
  };
  /** Files written under --out. */
  files: string[];
  /** True when every recomputed figure is finite (the part's own check). */
  ok: boolean;
}

/** What the part reports when the committed weights folder does not exist (the study was never run). */
export interface SparseSkipped {
  skipped: string;
  ok: true;
}

/** A missing or unreadable weights folder, or an --out that cannot be written: the CLI prints one line and exits 2. */
export class SparsePartError extends TesseraError {}

async function readCommitted(dir: string): Promise<{ config: ExperimentConfig; results: Results }> {
  try {
    const config = JSON.parse(await readFile(join(dir, FILES.config), 'utf8')) as ExperimentConfig;
    config.model = checkDitConfig(config.model, `${FILES.config} model`);
    const results = JSON.parse(await readFile(join(dir, FILES.results), 'utf8')) as Results;
    return { config, results };
  } catch (e) {
    throw new SparsePartError(`sparse: cannot read the study in ${dir}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * The `sparse` part: loads the committed teacher and students, recomputes the velocity MSE of (a)/(b)/(c)
 * to the dense teacher on one held-out clip at t = 0.5, and (with `out`) writes a PNG strip of the
 * committed samples (teacher, a, b, c from the same noise) and a block-mask heatmap of layer 0.
 */
export async function runSparse(opts: {
  seed: number;
  out?: string;
  dir?: string;
  /** A bar over the four velocity forwards (teacher, a, b, c). */
  progress?: Progress;
}): Promise<SparseReport | SparseSkipped> {
  const dir = opts.dir ?? SPARSE_WEIGHTS;
  if (opts.dir === undefined && !existsSync(dir)) {
    // before the study's GPU run is committed, the tour goes on without it
    return { skipped: `no committed study in ${dir} yet (made by the study's GPU run: apps/demo/README.md, section sparse)`, ok: true };
  }
  const start = performance.now();
  if (opts.out !== undefined) {
    // before any work: an --out that cannot be written is a usage error
    try {
      await mkdir(opts.out, { recursive: true });
    } catch (e) {
      throw new SparsePartError(`sparse: --out ${opts.out}: cannot create the directory: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const { config, results } = await readCommitted(dir);
  let variants: Awaited<ReturnType<typeof loadVariants>>;
  try {
    variants = await loadVariants(dir, config.model);
  } catch (e) {
    throw new SparsePartError(`sparse: cannot load the weights in ${dir}: ${(e as Error).message.split('\n')[0]}`);
  }
  const files: string[] = [];
  try {
    const data = new ClipSource(config);
    // held-out clips past the evaluation's, so the slice is new data for every seed
    const clip = config.training.evalClips + opts.seed;
    const n = DEMO_TIMES.length;
    const { xt, t } = tf.tidy(() => {
      const x0 = tf.tile(data.heldOut([clip]), [n, 1, 1]);
      const tt = tf.tensor1d(DEMO_TIMES);
      const noise = philoxNormal(x0.shape, config.seeds.evalNoise + 1, opts.seed * 2 * x0.size);
      const tb = tf.reshape(tt, [n, 1, 1]);
      return { xt: tf.add(tf.mul(tf.sub(1, tb), x0), tf.mul(tb, noise)), t: tt };
    });
    const progress = opts.progress ?? noProgress;
    progress.start('[sparse]', 4, 'teacher velocity');
    const u = variants.teacher.velocity(xt, t);
    const rows: SparseReport['local']['rows'] = [];
    for (const [i, variant] of (['a', 'b', 'c'] as const).entries()) {
      progress.update(i + 1, `student (${variant}) velocity`);
      const r = tf.tidy(() => {
        const s = variants[variant].velocity(xt, t);
        return { mse: tf.mean(tf.square(tf.sub(s.velocity, u.velocity))), sparsity: s.sparsity };
      });
      rows.push({ variant, velocityMse: (await r.mse.data())[0] as number, sparsity: (await r.sparsity.data())[0] as number });
      tf.dispose([r.mse, r.sparsity]);
    }
    progress.update(4, 'done');
    progress.stop();
    if (opts.out !== undefined) {
      files.push(await writeSampleStrip(dir, config, opts.out));
      files.push(await writeMaskHeatmap(variants.teacher, xt, t, config, opts.out));
    }
    tf.dispose([xt, t, u.velocity, u.sparsity]);
    const { date, device, rows: committedRows, finetune, pretrain, timing } = results;
    return {
      committed: { date, device, rows: committedRows, finetune, pretrain, ...(timing ? { timing } : {}) },
      local: { backend: tf.getBackend(), clip, times: DEMO_TIMES, rows, seconds: (performance.now() - start) / 1000 },
      files,
      ok: rows.every((r) => Number.isFinite(r.velocityMse) && Number.isFinite(r.sparsity)),
    };
  } finally {
    opts.progress?.stop();
    variants.dispose();
  }
}

/** sparse-samples.png: one row per variant (teacher, a, b, c), the frames of the first committed sample side by side. */
async function writeSampleStrip(dir: string, config: ExperimentConfig, out: string): Promise<string> {
  let samples: Record<string, Tensor>;
  try {
    samples = await loadSafetensors(join(dir, FILES.samples));
  } catch (e) {
    throw new SparsePartError(`sparse: cannot read ${FILES.samples} in ${dir}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const { frames, size } = config.model;
    const rows: Float32Array[] = [];
    for (const name of ['teacher', 'a', 'b', 'c']) {
      const s = samples[name];
      if (s?.shape.length !== 5 || s.shape[1] !== frames || s.shape[2] !== size) {
        throw new SparsePartError(`sparse: ${FILES.samples}: expected "${name}" of shape [N, ${frames}, ${size}, ${size}, 3]`);
      }
      rows.push((await s.data()).slice(0, frames * size * size * 3) as Float32Array);
    }
    const all = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of rows) {
      all.set(r, at);
      at += r.length;
    }
    const { rgb, width, height } = stripImage(all, rows.length, config.model);
    const path = join(out, 'sparse-samples.png');
    await writeFileAtomic(path, encodeRgbPng(rgb, width, height));
    return path;
  } finally {
    tf.dispose(Object.values(samples));
  }
}

/**
 * sparse-mask.png: layer 0's pooled block scores for each head (columns: key blocks, rows: query blocks),
 * brightness √score per row, blocks the hybrid mask keeps tinted green; at t = 0.5.
 */
async function writeMaskHeatmap(teacher: DiT, xt: Tensor, t: Tensor, config: ExperimentConfig, out: string): Promise<string> {
  const m = config.model;
  const headDim = m.width / m.heads;
  const { scores, kept } = tf.tidy(() => {
    const x = teacher.attentionInput(tf.slice(xt, 0, 1), tf.slice(t, 0, 1), 0);
    const layer = teacher.blocks[0];
    if (!layer) throw new FormatError('sparse: the model has no blocks');
    const heads = (y: Tensor) => tf.transpose(tf.reshape(y, [1, -1, m.heads, headDim]), [0, 2, 1, 3]);
    const s = blockScores(heads(layer.attn.qProj.forward(x)), heads(layer.attn.kProj.forward(x)), { bq: m.bq, bk: m.bk });
    const mask = hybridMask(s, { topK: m.topK, topP: m.topP, bq: m.bq, bk: m.bk });
    const dense = mask.toDense();
    mask.dispose();
    return { scores: s, kept: tf.cast(dense, 'float32') };
  });
  const [, heads, nq, nk] = scores.shape as [number, number, number, number];
  const sv = await scores.data();
  const kv = await kept.data();
  tf.dispose([scores, kept]);
  const cell = 6;
  const gap = 4;
  const width = heads * (nk * cell + gap) - gap;
  const height = nq * cell;
  const rgb = new Float32Array(width * height * 3).fill(1);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < nq; i++) {
      let rowMax = 0;
      for (let j = 0; j < nk; j++) rowMax = Math.max(rowMax, sv[(h * nq + i) * nk + j] as number);
      for (let j = 0; j < nk; j++) {
        const at = (h * nq + i) * nk + j;
        const level = Math.sqrt((sv[at] as number) / (rowMax || 1));
        const on = (kv[at] as number) > 0;
        const colour = on ? [-1 + level, -0.2 + 1.2 * level, -1 + level] : [-1 + 1.6 * level, -1 + 1.6 * level, -1 + 1.6 * level];
        for (let y = 0; y < cell; y++) {
          for (let x = 0; x < cell; x++) {
            const p = ((i * cell + y) * width + h * (nk * cell + gap) + j * cell + x) * 3;
            rgb.set(colour, p);
          }
        }
      }
    }
  }
  const path = join(out, 'sparse-mask.png');
  await writeFileAtomic(path, encodeRgbPng(rgb, width, height));
  return path;
}

function fmtPsnr(x: number | null): string {
  return x === null ? '—' : `${x.toFixed(2)} dB`;
}

/** The part's text: the committed table, then this run's recomputed slice. */
export function formatSparse(r: SparseReport): string {
  const lines: string[] = [];
  const c = r.committed;
  lines.push(
    `committed study (${c.device}, ${c.date.slice(0, 10)}): teacher pretrained ${c.pretrain.steps} steps; hybrid mask topK ${c.finetune.topK}, topP ${c.finetune.topP}`,
  );
  lines.push('variant                                                    velocity MSE   sample PSNR   sparsity');
  for (const row of c.rows as ResultRow[]) {
    lines.push(
      `${row.description.padEnd(58)} ${row.velocityMse.toExponential(3).padStart(12)}   ${fmtPsnr(row.samplePsnr).padStart(11)}   ${(100 * row.sparsity).toFixed(1).padStart(6)} %`,
    );
  }
  if (c.timing) {
    for (const t of c.timing.rows) {
      lines.push(
        `attention, one layer, B=${t.batch} L=${c.timing.shape.length}: dense ${t.denseMs.toFixed(3)} ms, sparse ${t.sparseMs.toFixed(3)} ms (${t.speedup.toFixed(2)}×, mask ${t.maskMs.toFixed(3)} ms)`,
      );
    }
  }
  lines.push(
    `recomputed here (${r.local.backend}, held-out clip ${r.local.clip}, t = ${r.local.times.join(', ')}, ${r.local.seconds.toFixed(1)} s): velocity MSE to the teacher ${r.local.rows
      .map((x) => `(${x.variant}) ${x.velocityMse.toExponential(3)}`)
      .join(', ')}; sparsity ${(100 * (r.local.rows[0]?.sparsity ?? 0)).toFixed(1)} %`,
  );
  lines.push(r.files.length > 0 ? `wrote ${r.files.join(', ')}` : 'pass --out DIR for the sample strip and the block-mask heatmap');
  return lines.join('\n');
}
