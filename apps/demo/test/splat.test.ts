import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { main } from '../src/main.js';
import { cliProgress, noProgress, type Progress, progressBars } from '../src/progress.js';
import { encodeGif } from '../src/splat/gif.js';
import { formatSplat, runSplat, SPLAT_DEFAULTS, SplatPartError, type SplatOptions } from '../src/splat/part.js';
import { capture, PNG_SIGNATURE, plyHeader, scratchDirs } from './io.js';

/** A fit of a few seconds: the same code as the tour, smaller settings. */
const SMALL: SplatOptions = {
  steps: 12,
  imageSize: 24,
  views: 4,
  heldOutViews: 2,
  sceneGaussians: 400,
  initialGaussians: 150,
  maxGaussians: 300,
  turntableFrames: 4,
  minPsnr: 5,
};

const scratch = scratchDirs('demo-splat-');

/** Records what a part reports to its progress bar. */
function recorder(): Progress & { calls: [string, ...unknown[]][] } {
  const calls: [string, ...unknown[]][] = [];
  return {
    calls,
    start: (...a) => calls.push(['start', ...a]),
    update: (...a) => calls.push(['update', ...a]),
    stop: () => calls.push(['stop']),
  };
}

describe('runSplat on cpu', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('fits, reports PSNR on held-out views, and writes a valid PNG, GIF and .ply', async () => {
    const out = scratch();
    const progress = recorder();
    const r = await runSplat({ ...SMALL, seed: 3, out, progress });
    expect(r.settings).toEqual({ steps: 12, imageSize: 24, views: 4, heldOutViews: 2, initialGaussians: 150, maxGaussians: 300 });
    expect(r.psnrPerView).toHaveLength(2);
    expect(r.psnr).toBeCloseTo((r.psnrPerView[0]! + r.psnrPerView[1]!) / 2, 10);
    expect(Number.isFinite(r.psnr)).toBe(true);
    expect(r.curve).toEqual([{ step: 12, psnr: r.psnr }]);
    expect(r.ok).toBe(r.psnr >= 5);
    expect(r.backend).toBe('cpu');
    expect(r.gaussians).toBeGreaterThan(0);
    expect(r.gaussians).toBeLessThanOrEqual(300);
    expect(r.files.map((f) => f.slice(out.length + 1))).toEqual(['splat-heldout.png', 'splat-turntable.gif', 'splat.ply']);
    expect(readdirSync(out).sort()).toEqual(['splat-heldout.png', 'splat-turntable.gif', 'splat.ply']);

    const png = readFileSync(join(out, 'splat-heldout.png'));
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    // IHDR: 2 held-out views side by side at the 128 px output size, ground truth above the fit
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([2 * 128, 2 * 128]);

    const gif = readFileSync(join(out, 'splat-turntable.gif'));
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([128, 128]);
    // one image descriptor (0x2c after a graphic control block) per turntable frame
    let frames = 0;
    for (let i = 0; i + 1 < gif.length; i++)
      if (gif[i] === 0x00 && gif[i + 1] === 0x2c && gif[i - 7] === 0x21 && gif[i - 6] === 0xf9) frames++;
    expect(frames).toBe(4);

    const ply = readFileSync(join(out, 'splat.ply'));
    const { count, headerBytes, properties } = plyHeader(ply);
    expect(count).toBe(r.gaussians);
    expect(properties).toBe(17); // x y z, normals, f_dc ×3, opacity, scales ×3, rot ×4 (SH degree 0)
    expect(ply.length).toBe(headerBytes + count * properties * 4);

    // the bar: one bar of `steps` units, moved by every step and ended
    expect(progress.calls[0]).toEqual(['start', '[splat]', 12, 'fitting']);
    const updates = progress.calls.filter((c) => c[0] === 'update');
    expect(updates.map((c) => c[1])).toEqual([...Array.from({ length: 12 }, (_, i) => i + 1), 12]);
    expect(String(updates.at(-1)?.[2])).toMatch(/^loss \d\.\d{4} \| held-out PSNR \d+\.\d\d dB \| \d+ Gaussians$/);
    expect(progress.calls.at(-1)).toEqual(['stop']);

    expect(formatSplat(r)).toMatch(/held-out PSNR \(2 views above the training ring\): \d+\.\d\d dB/);
  });

  it('reports ok: false when the PSNR misses its floor', async () => {
    const r = await runSplat({ ...SMALL, steps: 2, minPsnr: 150 });
    expect(r.ok).toBe(false);
    expect(r.files).toEqual([]);
  });

  it('an --out that cannot be created is a SplatPartError, raised before the fit, and leaves nothing', async () => {
    const base = scratch();
    writeFileSync(join(base, 'file'), 'x');
    const progress = recorder();
    await expect(runSplat({ ...SMALL, out: join(base, 'file', 'sub'), progress })).rejects.toThrow(SplatPartError);
    await expect(runSplat({ ...SMALL, out: join(base, 'file', 'sub') })).rejects.toThrow(
      /^splat: --out .*file\/sub: cannot create the directory: ENOTDIR/,
    );
    expect(progress.calls).toEqual([]);
    expect(readdirSync(base)).toEqual(['file']);
  });

  it('a write that fails at the end leaves none of the files, nor the staging folder', async () => {
    const out = scratch();
    // a non-empty folder where the .ply goes: the last rename fails after the PNG and the GIF were moved in
    mkdirSync(join(out, 'splat.ply'));
    writeFileSync(join(out, 'splat.ply', 'keep'), 'x');
    await expect(runSplat({ ...SMALL, steps: 2, out })).rejects.toThrow(/^splat: --out .*: cannot write the results/);
    expect(readdirSync(out)).toEqual(['splat.ply']);
    expect(readdirSync(join(out, 'splat.ply'))).toEqual(['keep']);
  });

  it('rejects bad options by name', async () => {
    await expect(runSplat({ ...SMALL, steps: 0 })).rejects.toThrow(/steps/);
    await expect(runSplat({ ...SMALL, imageSize: 8 })).rejects.toThrow(/imageSize/);
    await expect(runSplat({ ...SMALL, initialGaussians: 500, maxGaussians: 100 })).rejects.toThrow(
      /maxGaussians: expected at least initialGaussians \(500\), received 100/,
    );
    await expect(runSplat({ ...SMALL, stpes: 3 } as SplatOptions)).rejects.toThrow(/stpes/);
  });
});

describeBackends('runSplat', () => {
  it('leaks no tensors', async () => {
    await expectNoLeaks(async () => {
      await runSplat({ ...SMALL, steps: 3, imageSize: 16, heldOutViews: 1 });
    });
  });
});

describe('the splat part through the CLI', () => {
  it('parses its options', () => {
    expect(parseArgs(['splat', '--steps', '40', '--image-size=32', '--views', '6'])).toMatchObject({
      kind: 'run',
      args: { parts: ['splat'], splat: { steps: 40, imageSize: 32, views: 6 } },
    });
    expect(parseArgs(['splat', '--steps', '0'])).toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/--steps <n>'.*positive integer, received "0"/),
    });
    expect(parseArgs(['splat', '--views', 'many'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/received "many"/) });
  });

  it('--json: one JSON document with the splat results; exit 1 when the PSNR misses the 30 dB floor', async () => {
    const c = capture();
    const code = await main(['splat', '--backend=cpu', '--json', '--steps', '4', '--image-size', '16', '--views', '3'], c.io);
    expect(c.out).toHaveLength(1);
    const report = JSON.parse(c.out[0] as string);
    expect(report.splat).toMatchObject({
      settings: { steps: 4, imageSize: 16, views: 3 },
      minPsnr: SPLAT_DEFAULTS.minPsnr,
      backend: 'cpu',
    });
    expect(Object.keys(report.splat).sort()).toEqual(
      [
        'backend',
        'curve',
        'files',
        'finalLoss',
        'gaussians',
        'minPsnr',
        'ok',
        'psnr',
        'psnrPerView',
        'scene',
        'seconds',
        'settings',
      ].sort(),
    );
    expect(code).toBe(report.splat.ok ? 0 : 1);
    expect(report.splat.ok).toBe(false); // 4 steps at 16² stay far below 30 dB
    expect(report.splat.files).toEqual([]);
    expect(c.err).toEqual(["backend: cpu — preference 'cpu'", '[splat] fitting Gaussians to views of the bunny']);
  });

  it('an --out that cannot be written: one line, exit 2, nothing left', async () => {
    const base = scratch();
    writeFileSync(join(base, 'file'), 'x');
    const c = capture();
    expect(await main(['splat', '--backend=cpu', '--out', join(base, 'file', 'out')], c.io)).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(/^tessera-demo: --out .*file\/out: cannot create the directory: ENOTDIR/);
    expect(existsSync(join(base, 'file', 'out'))).toBe(false);
  });

  it('an unknown part is a usage error', async () => {
    const c = capture();
    expect(await main(['splats'], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/'splats' is invalid for argument 'part'. Allowed choices are core, sparse, splat, bench/);
  });
});

describe('progress bars', () => {
  it('are off with --json and when stderr is not a terminal', () => {
    const tty = Object.assign(Object.create(process.stderr), { isTTY: true });
    const pipe = Object.assign(Object.create(process.stderr), { isTTY: false });
    expect(cliProgress(true, tty)).toBe(noProgress);
    expect(cliProgress(false, pipe)).toBe(noProgress);
    expect(cliProgress(false, tty)).not.toBe(noProgress);
  });
  it('draw a cli-progress bar with the status on a terminal', () => {
    let written = '';
    const stream = {
      isTTY: true,
      columns: 200,
      write: (s: string) => {
        written += s;
        return true;
      },
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
      on: () => stream,
      removeListener: () => stream,
    } as unknown as NodeJS.WriteStream;
    const bar = progressBars(stream);
    bar.start('[splat]', 10, 'fitting');
    bar.update(10, 'loss 0.0100');
    bar.stop();
    expect(written).toMatch(/\[splat\] .* 10\/10 \| loss 0\.0100 \| /);
  });
});

describe('encodeGif', () => {
  it('writes a looping GIF89a of the frames with one global palette', () => {
    const frame = (v: number) => new Float32Array(8 * 6 * 3).fill(v);
    const gif = Buffer.from(encodeGif([frame(0), frame(0.5), frame(1)], 8, 6, 100));
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([8, 6]);
    expect(gif[10]! & 0x80).toBe(0x80); // global colour table present
    expect(gif.includes(Buffer.from('NETSCAPE2.0'))).toBe(true);
    expect(gif.at(-1)).toBe(0x3b);
  });
});
