import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';
import { TTTLRM } from '@tessera/ttt3d';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { main } from '../src/main.js';
import type { Progress } from '../src/progress.js';
import {
  formatReconstruct,
  RECONSTRUCT_DEFAULTS,
  ReconstructPartError,
  type ReconstructOptions,
  runReconstruct,
} from '../src/reconstruct/part.js';
import { capture, PNG_SIGNATURE, plyHeader, scratchDirs } from './io.js';

const scratch = scratchDirs('demo-reconstruct-');

/** A tiny untrained tttLRM (32², width 32, one block) saved once: the part's whole path in about a second on cpu. */
let tiny = '';
async function tinyWeights(): Promise<string> {
  if (tiny === '') {
    const model = TTTLRM.fromConfig({
      imageSize: 32,
      width: 32,
      depth: 1,
      attentionHeadDim: 16,
      fastHiddenRatio: 2,
      mlpRatio: 2,
      muonSteps: 1,
      shDegree: 0,
      virtualColour: true,
    });
    const dir = join(scratch(), 'tiny');
    await model.save(dir);
    model.dispose();
    tiny = dir;
  }
  return tiny;
}

/** Small settings for the tiny model. */
const SMALL: ReconstructOptions = { views: 2, heldOutViews: 2, sceneGaussians: 300, fitSteps: 4, turntableFrames: 4, minPsnr: 0 };

function recorder(): Progress & { calls: [string, ...unknown[]][] } {
  const calls: [string, ...unknown[]][] = [];
  return {
    calls,
    start: (...a) => calls.push(['start', ...a]),
    update: (...a) => calls.push(['update', ...a]),
    stop: () => calls.push(['stop']),
  };
}

const REPORT_KEYS = [
  'backend',
  'baseline',
  'curve',
  'files',
  'gaussians',
  'leakedTensors',
  'minPsnr',
  'model',
  'ok',
  'psnr',
  'psnrPerView',
  'scene',
  'seconds',
  'settings',
  'ssim',
  'ssimPerView',
].sort();

describe('runReconstruct on cpu (a tiny model)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await tinyWeights();
  });

  it('reconstructs, scores held-out views, runs the splat baseline and writes a PNG, a GIF and a .ply', async () => {
    const out = scratch();
    const progress = recorder();
    const r = await runReconstruct({ ...SMALL, weights: tiny, out, progress });
    expect(Object.keys(r).sort()).toEqual(REPORT_KEYS);
    expect(r.scene).toEqual({ name: 'bunny', gaussians: 300, seed: 0 });
    expect(r.model).toMatchObject({ weights: tiny, imageSize: 32, width: 32, depth: 1, shDegree: 0 });
    expect(r.model.parameters).toBeGreaterThan(0);
    expect(r.settings).toEqual({ views: 2, stream: false, virtualViews: 2, heldOutViews: 2, imageSize: 32, fitSteps: 4 });
    // one Gaussian per input pixel at most (those of opacity < 0.01 pruned)
    expect(r.gaussians).toBeGreaterThan(0);
    expect(r.gaussians).toBeLessThanOrEqual(2 * 32 * 32);
    expect(r.psnrPerView).toHaveLength(2);
    expect(r.psnr).toBeCloseTo((r.psnrPerView[0]! + r.psnrPerView[1]!) / 2, 10);
    expect(Number.isFinite(r.psnr)).toBe(true);
    expect(r.ssimPerView).toHaveLength(2);
    expect(r.ssim).toBeGreaterThan(-1);
    expect(r.ssim).toBeLessThanOrEqual(1);
    expect(r.curve).toEqual([{ views: 2, psnr: r.psnr }]);
    expect(r.seconds.reconstruct).toBeGreaterThan(0);
    expect(r.seconds.total).toBeGreaterThanOrEqual(r.seconds.reconstruct);

    // the baseline stops at the first chunk that reaches tttLRM's PSNR, or at the cap
    const b = r.baseline;
    expect(b.method).toBe('fitGaussians');
    expect(b.maxSteps).toBe(4);
    expect(b.curve.at(-1)).toEqual({ step: b.steps, psnr: b.psnr, seconds: b.seconds });
    expect(b.reached).toBe(b.psnr >= r.psnr);
    if (!b.reached) expect(b.steps).toBe(4);
    expect(b.curve.slice(0, -1).every((c) => c.psnr < r.psnr)).toBe(true);
    expect(b.ratio).toBeCloseTo(b.seconds / r.seconds.reconstruct, 10);

    expect(r.leakedTensors).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.backend).toBe('cpu');

    // the files, and no staging folder left beside them
    expect(r.files.map((f) => f.slice(out.length + 1))).toEqual([
      'reconstruct-heldout.png',
      'reconstruct-turntable.gif',
      'reconstruct.ply',
    ]);
    expect(readdirSync(out).sort()).toEqual(['reconstruct-heldout.png', 'reconstruct-turntable.gif', 'reconstruct.ply']);
    const png = readFileSync(join(out, 'reconstruct-heldout.png'));
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    // IHDR: 2 held-out views side by side at 128², rows ground truth, tttLRM, the fit
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([2 * 128, 3 * 128]);
    const gif = readFileSync(join(out, 'reconstruct-turntable.gif'));
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([128, 128]);
    const ply = readFileSync(join(out, 'reconstruct.ply'));
    expect(plyHeader(ply).count).toBe(r.gaussians);

    // bars: tttLRM (units: views), the baseline (units: steps), the turntable (units: frames)
    const starts = progress.calls.filter((c) => c[0] === 'start');
    expect(starts.map((c) => [c[1], c[2]])).toEqual([
      ['[reconstruct]', 2],
      ['[reconstruct]', 4],
      ['[reconstruct]', 4],
    ]);
    expect(progress.calls.at(-1)).toEqual(['stop']);

    const text = formatReconstruct(r);
    expect(text).toMatch(/held-out \(2 views above the input ring\): PSNR -?\d+\.\d\d dB/);
    expect(text).toMatch(/splat baseline \(fitGaussians, same views\)/);
    expect(text).toMatch(/check ≥ 0 dB and no leaked tensors \(0\): ok/);
  });

  it('decodes from --virtual-count of the views, one pass and streamed, and says so', async () => {
    for (const stream of [false, true]) {
      const r = await runReconstruct({ ...SMALL, weights: tiny, views: 5, virtualCount: 2, stream, heldOutViews: 1, fitSteps: 1 });
      expect(r.settings).toMatchObject({ views: 5, virtualViews: 2, stream });
      expect(r.gaussians).toBeLessThanOrEqual(2 * 32 * 32);
      expect(formatReconstruct(r)).toMatch(/5 views of 32², (one pass|streamed in pushes of 4) \(2 decoded\)/);
    }
    await expect(runReconstruct({ ...SMALL, weights: tiny, virtualCount: 0 })).rejects.toThrow(
      /virtualCount: expected an integer ≥ 1 and ≤ 64, received 0/,
    );
  });

  it('streams the views in pushes of 4 on a procedural scene, with the PSNR after each push', async () => {
    const r = await runReconstruct({ ...SMALL, weights: tiny, views: 5, stream: true, scene: 'procedural', heldOutViews: 1, fitSteps: 2 });
    expect(r.settings).toMatchObject({ views: 5, stream: true });
    expect(r.scene.name).toBe('procedural');
    expect(r.curve.map((c) => c.views)).toEqual([4, 5]);
    expect(r.curve.at(-1)?.psnr).toBe(r.psnr);
    expect(r.gaussians).toBeLessThanOrEqual(5 * 32 * 32);
    expect(r.files).toEqual([]);
    expect(formatReconstruct(r)).toMatch(/streamed in pushes of 4[\s\S]*PSNR by views pushed: 4: -?\d+\.\d, 5: -?\d+\.\d/);
  });

  it('reports ok: false when the PSNR misses its floor', async () => {
    const r = await runReconstruct({ ...SMALL, weights: tiny, views: 1, heldOutViews: 1, fitSteps: 1, minPsnr: 150 });
    expect(r.ok).toBe(false);
    expect(r.leakedTensors).toBe(0);
  });

  it('rejects a missing or unreadable weights folder, bad options and an unknown scene by name', async () => {
    const out = scratch();
    const missing = join(scratch(), 'nothing-here');
    await expect(runReconstruct({ ...SMALL, weights: missing, out })).rejects.toThrow(ReconstructPartError);
    await expect(runReconstruct({ ...SMALL, weights: missing })).rejects.toThrow(
      /^reconstruct: --weights .*nothing-here: expected a tttLRM weights folder \(config\.json \+ model\.safetensors\), config\.json and model\.safetensors missing$/,
    );
    expect(readdirSync(out)).toEqual([]);
    const corrupt = scratch();
    writeFileSync(join(corrupt, 'config.json'), '{ "width": ');
    writeFileSync(join(corrupt, 'model.safetensors'), 'x');
    await expect(runReconstruct({ ...SMALL, weights: corrupt })).rejects.toThrow(/^reconstruct: --weights .*: cannot load the model: /);
    await expect(runReconstruct({ ...SMALL, weights: tiny, views: 0 })).rejects.toThrow(/views.*received 0/);
    await expect(runReconstruct({ ...SMALL, weights: tiny, views: 65 })).rejects.toThrow(/views/);
    await expect(runReconstruct({ ...SMALL, weights: tiny, scene: 'teapot' as 'bunny' })).rejects.toThrow(
      /^reconstruct: scene: expected one of bunny, procedural, received "teapot"$/,
    );
    await expect(runReconstruct({ ...SMALL, weights: tiny, stpes: 3 } as ReconstructOptions)).rejects.toThrow(/stpes/);
  });

  it('a write that fails at the end leaves none of the files, nor the staging folder', async () => {
    const out = scratch();
    mkdirSync(join(out, 'reconstruct.ply'));
    writeFileSync(join(out, 'reconstruct.ply', 'keep'), 'x');
    await expect(runReconstruct({ ...SMALL, weights: tiny, views: 1, heldOutViews: 1, fitSteps: 1, out })).rejects.toThrow(
      /^reconstruct: --out .*: cannot write the results/,
    );
    expect(readdirSync(out)).toEqual(['reconstruct.ply']);
  });

  it('leaks no tensors, also when it fails', async () => {
    await expectNoLeaks(async () => {
      await runReconstruct({ ...SMALL, weights: tiny, views: 3, stream: true, heldOutViews: 1, fitSteps: 2 });
    });
    const out = scratch();
    mkdirSync(join(out, 'reconstruct.ply'));
    writeFileSync(join(out, 'reconstruct.ply', 'keep'), 'x');
    await expectNoLeaks(async () => {
      await expect(runReconstruct({ ...SMALL, weights: tiny, views: 1, heldOutViews: 1, fitSteps: 1, out })).rejects.toThrow();
    });
  });
});

// The committed model (width 128, 128²) takes ~13 s a view on the cpu backend, ~2 s on wasm: this one runs on wasm.
describeBackends(
  'runReconstruct with the committed weights',
  () => {
    it('reconstructs the bunny above a low PSNR floor, with every field of the report', async () => {
      const r = await runReconstruct({ views: 2, heldOutViews: 1, sceneGaussians: 1000, fitSteps: 1 });
      expect(Object.keys(r).sort()).toEqual(REPORT_KEYS);
      expect(r.model).toMatchObject({ imageSize: 128, width: 128, depth: 4, shDegree: 3 });
      expect(r.model.weights).toMatch(/weights\/tttlrm\/?$/);
      expect(r.settings).toEqual({ views: 2, stream: false, virtualViews: 2, heldOutViews: 1, imageSize: 128, fitSteps: 1 });
      expect(r.gaussians).toBeGreaterThan(1000);
      expect(Number.isFinite(r.psnr)).toBe(true);
      // an all-white image scores ~11.5 dB against these views; 2 views gave 13.9 dB with the provisional weights
      expect(r.psnr).toBeGreaterThan(12);
      expect(r.ssim).toBeGreaterThan(0);
      expect(r.baseline.steps).toBe(1);
      expect(r.leakedTensors).toBe(0);
      expect(r.minPsnr).toBe(RECONSTRUCT_DEFAULTS.minPsnr);
      expect(r.ok).toBe(r.psnr >= RECONSTRUCT_DEFAULTS.minPsnr);
    });
  },
  { backends: ['wasm'] },
);

describe('the reconstruct part through the CLI', () => {
  beforeAll(async () => {
    await tinyWeights();
  });

  it('parses its options; --views, --steps and --weights go to the parts that run', () => {
    expect(
      parseArgs([
        'reconstruct',
        '--views',
        '4',
        '--stream',
        '--virtual-count',
        '2',
        '--scene',
        'procedural',
        '--steps',
        '30',
        '--weights',
        '/w',
      ]),
    ).toMatchObject({
      kind: 'run',
      args: {
        parts: ['reconstruct'],
        reconstruct: { views: 4, stream: true, virtualCount: 2, scene: 'procedural', fitSteps: 30, weights: '/w' },
        splat: { views: 4, steps: 30 },
        lm: { task: 'generate' },
      },
    });
    const lm = parseArgs(['lm', '--weights', '/w']);
    expect(lm).toMatchObject({ kind: 'run', args: { lm: { dir: '/w' }, reconstruct: {} } });
    expect(lm.kind === 'run' && lm.args.reconstruct.weights).toBeUndefined();
    expect(parseArgs(['reconstruct'])).toMatchObject({ kind: 'run', args: { reconstruct: {} } });
    for (const argv of [
      ['--weights', '/w'],
      ['lm', 'reconstruct', '--weights', '/w'],
    ]) {
      expect(parseArgs(argv)).toMatchObject({
        kind: 'usage',
        message: expect.stringMatching(/--weights <dir>': applies to one part, lm or reconstruct.*"reconstruct --weights \/w"/),
      });
    }
    expect(parseArgs(['reconstruct', '--scene', 'teapot'])).toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/'teapot' is invalid.*bunny, procedural/),
    });
    expect(parseArgs(['reconstruct', '--views', '0'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/received "0"/) });
    expect(parseArgs(['reconstruct', '--virtual-count', '0'])).toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/--virtual-count <n>.*received "0"/),
    });
  });

  it('--json: one JSON document with the reconstruct results and the exit code of its check', async () => {
    const c = capture();
    const code = await main(['reconstruct', '--backend=cpu', '--json', '--weights', tiny, '--views', '2', '--steps', '2'], c.io);
    expect(c.out).toHaveLength(1);
    const report = JSON.parse(c.out[0] as string);
    expect(Object.keys(report.reconstruct).sort()).toEqual(REPORT_KEYS);
    expect(report.reconstruct).toMatchObject({
      settings: { views: 2, stream: false, fitSteps: 2 },
      model: { weights: tiny, width: 32 },
      minPsnr: RECONSTRUCT_DEFAULTS.minPsnr,
      leakedTensors: 0,
      backend: 'cpu',
    });
    expect(code).toBe(report.reconstruct.ok ? 0 : 1);
    expect(c.err).toEqual(["backend: cpu — preference 'cpu'", '[reconstruct] tttLRM: views of the bunny in, Gaussians out']);
  });

  it('a missing weights folder or a bad --views: one line, exit 2', async () => {
    const missing = join(scratch(), 'absent');
    let c = capture();
    expect(await main(['reconstruct', '--backend=cpu', '--weights', missing], c.io)).toBe(2);
    expect(c.err.at(-1)).toMatch(/^tessera-demo: reconstruct: --weights .*absent: expected a tttLRM weights folder/);
    expect(c.err.filter((l) => l.startsWith('tessera-demo:'))).toHaveLength(1);
    c = capture();
    expect(await main(['reconstruct', '--backend=cpu', '--weights', tiny, '--views', '65'], c.io)).toBe(2);
    expect(c.err.at(-1)).toMatch(/^tessera-demo: reconstruct: views: .*65/);
  });
});
