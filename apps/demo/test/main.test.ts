import { describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { parseArgs } from '../src/args.js';
import { DEFAULT_LOGITS, runCore } from '../src/parts/core.js';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('parseArgs', () => {
  it('defaults to every part on the auto backend', () => {
    expect(parseArgs([])).toMatchObject({ backend: 'auto', parts: ['core'], seed: 0, json: false });
  });
  it('names the bad option or value', () => {
    expect(() => parseArgs(['--backend', 'tpu'])).toThrow(/--backend: expected one of auto, webgpu, wasm, cpu, received "tpu"/);
    expect(() => parseArgs(['--seed', '-3'])).toThrow(/--seed: expected a non-negative integer, received "-3"/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/received "--frobnicate"/);
    expect(() => parseArgs(['nope'])).toThrow(/part: expected one of core, received "nope"/);
  });
});

describe('main', () => {
  it('prints help', async () => {
    const c = capture();
    expect(await main(['--help'], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/tessera-demo \[part\.\.\.\]/);
  });
  it('exits 2 with the message on bad usage', async () => {
    const c = capture();
    expect(await main(['--backend', 'tpu'], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--backend: expected/);
  });
  it('runs the core part on the cpu backend and reports JSON', async () => {
    const c = capture();
    expect(await main(['--backend', 'cpu', '--json'], c.io)).toBe(0);
    const report = JSON.parse(c.out.join('\n'));
    expect(report.backend.name).toBe('cpu');
    expect(report.core.safetensorsRoundTrip).toBe(true);
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
