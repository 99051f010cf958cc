import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@tessera/tensor-core';
import { expectNoLeaks } from '@tessera/tensor-core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { BenchPartError, formatBench, QUICK_SUITES, runBench } from '../src/bench/part.js';
import { main } from '../src/main.js';
import type { Progress } from '../src/progress.js';
import { capture, scratchDirs } from './io.js';

const scratch = scratchDirs('demo-bench-');

describe('runBench on cpu', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it("runs the named suites through the bench harness and writes the harness' JSON", async () => {
    const out = scratch();
    const calls: unknown[][] = [];
    const progress: Progress = {
      start: (...a) => calls.push(['start', ...a]),
      update: (...a) => calls.push(['update', ...a]),
      stop: () => calls.push(['stop']),
    };
    // philox: the smallest suite (one workload, about 2 s)
    const r = await runBench({ suites: ['philox'], out, progress });
    expect(r).toMatchObject({ backend: 'cpu', size: 'quick', suites: ['philox'], ok: true, files: [join(out, 'bench.json')] });
    expect(r.rows.length).toBeGreaterThan(0);
    for (const row of r.rows) {
      expect(row).toMatchObject({ suite: 'philox', workload: expect.any(String), shape: expect.any(String), baseline: expect.any(String) });
      expect(row.speedup).toBeCloseTo(row.baselineMs / row.oursMs, 10);
    }
    expect(readdirSync(out)).toEqual(['bench.json']);
    const json = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8'));
    expect(json).toMatchObject({ backend: 'cpu', size: 'quick' });
    expect(json.rows).toHaveLength(r.rows.length);
    expect(json.rows[0].ours.median).toBe(r.rows[0]?.oursMs);
    const table = formatBench(r);
    expect(table).toMatch(/\| workload \| shape \| ours \(ms\) \| baseline \| baseline \(ms\) \| speedup \|/);
    expect(table).toMatch(/\| philoxUniform \| \d+x\d+ \| [\d.]+ \| tf\.randomUniform \| [\d.]+ \| [\d.]+× \|/);
    expect(calls[0]).toEqual(['start', '[bench]', 1, 'loading']);
    expect(calls).toContainEqual(['update', 0, 'philox']);
    expect(calls).toContainEqual(['update', 1, 'done']);
    expect(calls.at(-1)).toEqual(['stop']);
  });

  it('leaks no tensors', async () => {
    await expectNoLeaks(async () => {
      await runBench({ suites: ['philox'] });
    });
  });

  it('an unknown suite or an --out that cannot be created is a BenchPartError naming it', async () => {
    await expect(runBench({ suites: ['philox', 'nope'] })).rejects.toThrow(BenchPartError);
    await expect(runBench({ suites: ['nope'] })).rejects.toThrow(
      /^bench: --suites: expected names among .*philox.* \(or all\), received "nope"$/,
    );
    const base = scratch();
    writeFileSync(join(base, 'file'), 'x');
    await expect(runBench({ suites: ['philox'], out: join(base, 'file', 'x') })).rejects.toThrow(
      /^bench: --out .*: cannot create the directory: ENOTDIR/,
    );
    await expect(runBench({ suits: ['philox'] } as never)).rejects.toThrow(/suits/);
  });

  it('defaults to a quick set with a suite from each package but sparse-attention', () => {
    expect([...QUICK_SUITES]).toEqual(['philox', 'softmax', 'sampling', 'mamba3', 'rasterize']);
  });
});

describe('the bench part through the CLI', () => {
  it('parses --suites', () => {
    expect(parseArgs(['bench', '--suites', 'philox, softmax'])).toMatchObject({
      args: { parts: ['bench'], bench: { suites: ['philox', 'softmax'] } },
    });
    expect(parseArgs(['bench', '--suites=all'])).toMatchObject({ args: { bench: { suites: 'all' } } });
    expect(parseArgs(['bench', '--suites', ','])).toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/--suites <names>'.*received ","/),
    });
  });

  it('--json: stdout is one JSON document with the rows; exit 0', async () => {
    const c = capture();
    expect(await main(['bench', '--backend=cpu', '--json', '--suites', 'philox'], c.io)).toBe(0);
    expect(c.out).toHaveLength(1);
    const report = JSON.parse(c.out[0] as string);
    expect(Object.keys(report.bench).sort()).toEqual(['backend', 'files', 'ok', 'rows', 'seconds', 'size', 'suites']);
    expect(report.bench.rows[0]).toMatchObject({ suite: 'philox', workload: 'philoxUniform' });
  });

  it('an unknown suite or an unwritable --out: one line, exit 2, nothing written', async () => {
    const c = capture();
    expect(await main(['bench', '--backend=cpu', '--suites', 'nope'], c.io)).toBe(2);
    expect(c.err.at(-1)).toMatch(/^tessera-demo: bench: --suites: expected names among .* received "nope"$/);
    const base = scratch();
    writeFileSync(join(base, 'file'), 'x');
    const d = capture();
    expect(await main(['bench', '--backend=cpu', '--suites', 'philox', '--out', join(base, 'file', 'x')], d.io)).toBe(2);
    expect(d.err).toHaveLength(1);
    expect(d.err[0]).toMatch(/^tessera-demo: --out .*: cannot create the directory: ENOTDIR/);
    expect(existsSync(join(base, 'file', 'x'))).toBe(false);
    expect(d.out).toEqual([]);
  });
});
