import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, saveSafetensors, tf, writeSafetensors } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { DiT, TINY_DIT_CONFIG } from '../src/sparse/dit.js';
import { FILES, type Results, runExperiment } from '../src/sparse/experiment.js';
import { formatSparse, runSparse, SparsePartError } from '../src/sparse/part.js';
import { clipBatch, encodeRgbPng, patchify, renderClips, stripImage, tokenBatch, unpatchify } from '../src/sparse/video.js';
import { PNG_SIGNATURE } from './io.js';

const TINY = { frames: TINY_DIT_CONFIG.frames, size: TINY_DIT_CONFIG.size, patch: TINY_DIT_CONFIG.patch };

describe('renderClips', () => {
  it('is a function of (seed, clip index) alone', () => {
    const a = renderClips([3, 7], { ...TINY, seed: 11, distribution: 'pretrain' });
    const b = renderClips([7], { ...TINY, seed: 11, distribution: 'pretrain' });
    const perClip = TINY.frames * TINY.size * TINY.size * 3;
    expect(a.subarray(perClip)).toEqual(b);
    expect(renderClips([3], { ...TINY, seed: 12, distribution: 'pretrain' })).not.toEqual(a.subarray(0, perClip));
  });
  it('draws values in [−1, 1] with moving shapes over a plain background', () => {
    const v = renderClips([0], { frames: 8, size: 32, patch: 2, seed: 1, distribution: 'pretrain' });
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...v)).toBeLessThanOrEqual(1);
    const frame = 32 * 32 * 3;
    // the corner pixel of a frame is usually background; consecutive frames differ (motion)
    expect(v.subarray(0, frame)).not.toEqual(v.subarray(frame, 2 * frame));
  });
  it('shifts the fine-tuning distribution: a light background instead of a dark grey one', () => {
    const mean = (x: Float32Array) => x.reduce((s, y) => s + y, 0) / x.length;
    const pre = renderClips([0, 1, 2, 3], { ...TINY, seed: 1, distribution: 'pretrain' });
    const shifted = renderClips([0, 1, 2, 3], { ...TINY, seed: 1, distribution: 'shifted' });
    expect(mean(shifted)).toBeGreaterThan(mean(pre) + 0.3);
  });
  it('rejects bad sizes and distributions', () => {
    expect(() => renderClips([0], { ...TINY, size: 15, seed: 0, distribution: 'pretrain' })).toThrow(
      /opts.size: expected a multiple of patch = 2, received 15/,
    );
    expect(() => renderClips([0], { ...TINY, seed: 0, distribution: 'nope' as 'pretrain' })).toThrow(/opts.distribution/);
    expect(() => renderClips([], { ...TINY, seed: 0, distribution: 'pretrain' })).toThrow(/indices: expected 1 to/);
  });
});

describe('patchify', () => {
  it('orders tokens frame-major then raster, channels (dy, dx, rgb), and unpatchify inverts it exactly', async () => {
    await expectNoLeaks(async () => {
      const video = clipBatch([0, 1], { ...TINY, seed: 4, distribution: 'pretrain' });
      const tokens = patchify(video, TINY);
      expect(tokens.shape).toEqual([2, 2 * 8 * 8, 12]);
      const v = (await video.array()) as number[][][][][];
      const tk = (await tokens.array()) as number[][][];
      // token (frame 1, row 2, col 3) of clip 1, channel (dy 1, dx 0, green)
      expect(tk[1]?.[64 + 2 * 8 + 3]?.[(1 * 2 + 0) * 3 + 1]).toBe(v[1]?.[1]?.[2 * 2 + 1]?.[3 * 2]?.[1]);
      const back = unpatchify(tokens, TINY);
      expect(await back.data()).toEqual(await video.data());
      tf.dispose([video, tokens, back]);
    });
  });
});

describe('encodeRgbPng', () => {
  it('writes a PNG of a strip of frames', () => {
    const clips = renderClips([0, 1], { ...TINY, seed: 0, distribution: 'pretrain' });
    const { rgb, width, height } = stripImage(clips, 2, TINY);
    expect([width, height]).toEqual([2 * 17 - 1, 2 * 17 - 1]);
    const png = encodeRgbPng(rgb, width, height);
    expect(Array.from(png.subarray(0, 8))).toEqual(PNG_SIGNATURE);
  });
});

describeBackends('DiT', () => {
  it('starts at zero velocity (adaLN-Zero) and keeps shapes; dense equals sparse with a full mask', async () => {
    await expectNoLeaks(async () => {
      const dense = new DiT(TINY_DIT_CONFIG, { mode: 'dense', seed: 3 });
      const x0 = tokenBatch([0, 1], { ...TINY, seed: 2, distribution: 'pretrain' });
      const t = tf.tensor1d([0.2, 0.9]);
      const zero = dense.velocity(x0, t);
      expect(zero.velocity.shape).toEqual([2, 128, 12]);
      const peak = tf.tidy(() => tf.max(tf.abs(zero.velocity)));
      expect((await peak.data())[0]).toBe(0);
      peak.dispose();
      // open the gates so attention matters, then compare with a sparse copy keeping every block
      tf.tidy(() => {
        for (const [name, v] of dense.namedParameters())
          if (name.endsWith('ada.weight') || name.startsWith('head')) v.assign(tf.fill(v.shape, 0.02));
      });
      const full = new DiT({ ...TINY_DIT_CONFIG, topK: 1 }, { mode: 'sparse' });
      full.loadStateDict(dense.stateDict());
      const a = dense.velocity(x0, t);
      const b = full.velocity(x0, t);
      expect((await b.sparsity.data())[0]).toBe(0);
      await expectAllClose(b.velocity, a.velocity, { atol: 1e-4 });
      const sparse = new DiT(TINY_DIT_CONFIG, { mode: 'sparse' });
      sparse.loadStateDict(dense.stateDict());
      const c = sparse.velocity(x0, t);
      expect((await c.sparsity.data())[0]).toBeGreaterThan(0.4);
      tf.dispose([x0, t, zero.velocity, zero.sparsity, a.velocity, a.sparsity, b.velocity, b.sparsity, c.velocity, c.sparsity]);
      for (const m of [dense, full, sparse]) m.dispose();
    });
  });
  it('rejects a wrong token shape, naming the argument', () => {
    const m = new DiT(TINY_DIT_CONFIG);
    const x = tf.zeros([1, 64, 12]);
    const t = tf.zeros([1]);
    expect(() => m.velocity(x, t)).toThrow(/xt/);
    tf.dispose([x, t]);
    m.dispose();
  });
});

describe('DiT weights', () => {
  it('round-trip through safetensors bit for bit', async () => {
    const m = new DiT(TINY_DIT_CONFIG, { seed: 9 });
    tf.tidy(() => {
      for (const [, v] of m.namedParameters()) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 5));
    });
    const bytes = await writeSafetensors(m.stateDict());
    const back = new DiT(TINY_DIT_CONFIG, { seed: 1 });
    const dict = readSafetensors(bytes);
    back.loadStateDict(dict);
    tf.dispose(Object.values(dict));
    expect(await writeSafetensors(back.stateDict())).toEqual(bytes);
    m.dispose();
    back.dispose();
  });
});

describe('the distillation experiment (tiny, cpu)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-sparse-'));
  const log: string[] = [];
  const run = (phase: 'pretrain' | 'finetune' | 'eval') => runExperiment({ out: dir, phase, tiny: true, log: (l) => log.push(l) });
  let tensorsBefore = 0;
  let previous = '';
  beforeAll(async () => {
    previous = tf.getBackend();
    await tf.setBackend('cpu');
    tensorsBefore = tf.memory().numTensors;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (previous) await tf.setBackend(previous);
  });

  it('pretrains the dense teacher and saves it with its optimizer state', async () => {
    const status = await run('pretrain');
    expect(status.complete).toEqual(['pretrain']);
    const pre = JSON.parse(readFileSync(join(dir, FILES.pretrainLog), 'utf8'));
    expect(pre.step).toBe(4);
    expect(pre.losses.every(([, l]: [number, number]) => Number.isFinite(l))).toBe(true);
    // a second call finds the phase complete and trains nothing
    await run('pretrain');
    expect(log.at(-1)).toMatch(/\[pretrain\] complete \(4 steps\)/);
  });
  it('picks the hybrid mask, then fine-tunes (b) with the flow-matching loss and (c) by distillation', async () => {
    const status = await run('finetune');
    expect(status.complete).toEqual(['pretrain', 'finetune']);
    const ft = JSON.parse(readFileSync(join(dir, FILES.finetuneLog), 'utf8'));
    expect(ft.grid).toHaveLength(2);
    expect(ft.b.losses).toHaveLength(3);
    expect(ft.c.losses).toHaveLength(3);
    expect(ft.c.sparsity.every((s: number) => s > 0)).toBe(true);
  });
  it('evaluates teacher and (a)/(b)/(c) on held-out clips and writes results.json', async () => {
    const status = await run('eval');
    expect(status.done).toBe(true);
    const results = JSON.parse(readFileSync(join(dir, FILES.results), 'utf8')) as Results;
    expect(results.rows.map((r) => r.variant)).toEqual(['teacher', 'a', 'b', 'c']);
    const [teacher, a, b, c] = results.rows;
    expect(teacher?.velocityMse).toBe(0);
    expect(teacher?.samplePsnr).toBeNull();
    expect(teacher?.sparsity).toBe(0);
    for (const r of [a, b, c]) {
      expect(r?.velocityMse).toBeGreaterThan(0);
      expect(r?.sparsity).toBeGreaterThan(0);
      expect(Number.isFinite(r?.samplePsnr)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
  it('the demo part recomputes a slice from the saved weights and writes the sample strip and mask heatmap', async () => {
    const out = join(dir, 'demo');
    const r = await runSparse({ seed: 0, dir, out });
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.ok).toBe(true);
    expect(r.local.rows.map((x) => x.variant)).toEqual(['a', 'b', 'c']);
    expect(r.files.map((f) => f.slice(out.length + 1))).toEqual(['sparse-samples.png', 'sparse-mask.png']);
    for (const f of r.files) expect(Array.from(readFileSync(f).subarray(0, 8))).toEqual(PNG_SIGNATURE);
    expect(formatSparse(r)).toMatch(/\(c\) sparse, velocity distillation/);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
  it('the demo part names a missing weights folder in one error', async () => {
    await expect(runSparse({ seed: 0, dir: join(dir, 'missing') })).rejects.toThrow(SparsePartError);
  });
  it('saves weights that load back into a model bit for bit', async () => {
    const path = join(dir, 'copy.safetensors');
    const m = new DiT(TINY_DIT_CONFIG);
    const dict = readSafetensors(readFileSync(join(dir, FILES.studentC)));
    m.loadStateDict(dict);
    await saveSafetensors(path, m.stateDict());
    expect(readFileSync(path)).toEqual(readFileSync(join(dir, FILES.studentC)));
    tf.dispose(Object.values(dict));
    m.dispose();
  });
});

describe('the CLI', () => {
  it('has a sparse part and an --out option', () => {
    expect(parseArgs(['sparse', '--out', '/tmp/x'])).toMatchObject({ kind: 'run', args: { parts: ['sparse'], out: '/tmp/x' } });
  });
});
