import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { helpText, parseArgs } from '../src/args.js';
import { DEFAULT_LOGITS, runCore } from '../src/parts/core.js';
import { probeWebGPU } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('parseArgs', () => {
  it('defaults to every part on the auto backend', () => {
    expect(parseArgs([])).toEqual({
      kind: 'run',
      args: {
        backend: 'auto',
        parts: ['core', 'sparse', 'splat', 'bench', 'lm', 'reconstruct'],
        seed: 0,
        json: false,
        splat: {},
        bench: {},
        lm: { task: 'generate' },
        reconstruct: {},
      },
    });
  });
  it('takes options as separate or =-joined values, and parts', () => {
    expect(parseArgs(['--backend=cpu', '--seed', '7', '--json', 'core'])).toEqual({
      kind: 'run',
      args: { backend: 'cpu', parts: ['core'], seed: 7, json: true, splat: {}, bench: {}, lm: { task: 'generate' }, reconstruct: {} },
    });
    expect(parseArgs(['core', '--backend', 'wasm', '--seed=3'])).toMatchObject({ args: { backend: 'wasm', seed: 3 } });
  });
  it('names the bad option or value', () => {
    expect(parseArgs(['--backend', 'tpu'])).toEqual({
      kind: 'usage',
      message: "option '--backend <name>' argument 'tpu' is invalid. Allowed choices are auto, webgpu, wasm, cpu.",
    });
    expect(parseArgs(['--seed', '-3'])).toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/--seed.*non-negative integer, received "-3"/),
    });
    expect(parseArgs(['--seed', '1.5'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/received "1.5"/) });
    expect(parseArgs(['--frobnicate'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/unknown option '--frobnicate'/) });
    expect(parseArgs(['--jsn'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/Did you mean --json\?/) });
    expect(parseArgs(['nope'])).toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/'nope' is invalid for argument 'part'. Allowed choices are core/),
    });
    expect(parseArgs(['--backend'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/--backend <name>' argument missing/) });
  });
  it('returns the help text for -h and --help', () => {
    for (const flag of ['-h', '--help']) {
      const parsed = parseArgs([flag]);
      expect(parsed.kind).toBe('help');
      expect(parsed.kind === 'help' && parsed.text).toBe(helpText());
    }
    expect(helpText()).toMatch(/Usage: tessera-demo \[options\] \[part\.\.\.\]/);
    expect(helpText()).toMatch(/--backend <name>/);
    expect(helpText()).toMatch(/Exit codes: 0/);
  });
});

describe('main', () => {
  const saved = process.env.TESSERA_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.TESSERA_BACKEND;
    else process.env.TESSERA_BACKEND = saved;
  });

  it('prints help on stdout and exits 0', async () => {
    const c = capture();
    expect(await main(['--help'], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/Usage: tessera-demo/);
    expect(c.err).toEqual([]);
  });
  it('exits 2 with one line naming the option on bad usage', async () => {
    const c = capture();
    expect(await main(['--backend', 'tpu'], c.io)).toBe(2);
    expect(c.out).toEqual([]);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(/^tessera-demo: option '--backend <name>' argument 'tpu' is invalid.*\(see --help\)$/);
  });
  it('exits 2 with one line when TESSERA_BACKEND names no backend', async () => {
    process.env.TESSERA_BACKEND = 'bogus';
    const c = capture();
    expect(await main([], c.io)).toBe(2);
    expect(c.err).toEqual(['tessera-demo: TESSERA_BACKEND: expected one of auto, webgpu, wasm, cpu, received "bogus"']);
  });
  it('runs the core part on the cpu backend; with --json, stdout is one JSON document and progress goes to stderr', async () => {
    delete process.env.TESSERA_BACKEND;
    const c = capture();
    expect(await main(['core', '--backend=cpu', '--json'], c.io)).toBe(0);
    expect(c.out).toHaveLength(1);
    const report = JSON.parse(c.out[0] as string);
    expect(report.backend.name).toBe('cpu');
    expect(report.core.safetensorsRoundTrip).toBe(true);
    expect(c.err.join('\n')).toMatch(/^backend: cpu/);
  });
  it('prints the text report on stdout without --json', async () => {
    delete process.env.TESSERA_BACKEND;
    const c = capture();
    expect(await main(['core', '--backend', 'cpu'], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/^backend: cpu[\s\S]*\[core\][\s\S]*round trip identical/);
  });
  it('auto passes over a software WebGPU adapter (lavapipe, SwiftShader) for wasm, and says so', async () => {
    delete process.env.TESSERA_BACKEND;
    const gpu = await probeWebGPU();
    const software = gpu.ok && /llvmpipe|lavapipe|swiftshader|software|warp/i.test(gpu.adapter ?? '');
    const c = capture();
    expect(await main(['core', '--json'], c.io)).toBe(0);
    const { backend } = JSON.parse(c.out[0] as string);
    if (software) {
      expect(backend.name).toBe('wasm');
      expect(backend.reason).toMatch(/^preference 'auto': the WebGPU adapter is a software rasteriser \(.+\), slower here than wasm/);
    } else {
      expect(backend.name).toBe(gpu.ok ? 'webgpu' : 'wasm');
    }
  });
});

describeBackends('core part', () => {
  it('computes the embedded example correctly', async () => {
    const r = await runCore(0);
    const finite = DEFAULT_LOGITS.filter(Number.isFinite);
    const z = finite.reduce((a, b) => a + Math.exp(b), 0);
    finite.forEach((l, i) => {
      expect(r.probabilities[i]).toBeCloseTo(Math.exp(l) / z, 6);
    });
    expect(r.probabilities[DEFAULT_LOGITS.length - 1]).toBe(0);
    expect(r.logSoftmaxError).toBeLessThan(1e-5);
    expect(Math.abs(r.uniformMean - 0.5)).toBeLessThan(0.01);
    expect(r.safetensorsRoundTrip).toBe(true);
  });
  it('leaks no tensors', async () => {
    await expectNoLeaks(async () => {
      await runCore(3);
    });
  });
});
