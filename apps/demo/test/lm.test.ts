import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@tessera/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, detag, encode, splitBrown } from '../src/lm/data.js';
import { ByteLM, LMWeightsError, loadLM, type LMState, MIXER_KINDS, saveLM, stateTensors } from '../src/lm/model.js';
import { DECODERS, LmPartError, lmBok, lmCompare, lmGenerate } from '../src/lm/part.js';
import { configFor, trainLM } from '../src/lm/train.js';
import { main } from '../src/main.js';

let dir: string;
beforeAll(async () => {
  await initBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'tessera-lm-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('data', () => {
  it('detags the Brown corpus and splits it by document, deterministically', () => {
    expect(detag("\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ,/, it's/pps+bez fine/jj ./.\n\n")).toBe(
      'The jury said "no", it\'s fine.\n',
    );
    const a = splitBrown();
    expect(a.trainDocs).toBe(475);
    expect(a.heldOutDocs).toBe(25);
    expect(decode(a.heldOut.subarray(0, 200))).toMatch(/^The Fulton County Grand Jury said/);
    expect(decode(a.train.subarray(0, 200))).toMatch(/^Austin, Texas/);
    expect(splitBrown().heldOut).toEqual(a.heldOut);
    expect(decode(encode('café'))).toBe('café');
  });
});

describe('ByteLM', () => {
  it.each(MIXER_KINDS)('step equals forward token by token (%s)', async (kind) => {
    const config = { ...configFor('hybrid', true, 3), layers: [kind, kind] };
    // attention decodes densely from its KV cache: compare with the dense forward
    config.attention = { ...config.attention, mode: 'dense' };
    const model = new ByteLM(config);
    const ids = Array.from(encode('The jury said it'));
    const before = tf.memory().numTensors;
    const full = tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')));
    const expected = (await full.array()) as number[][][];
    let state: LMState | undefined;
    for (const [t, id] of ids.entries()) {
      const r = model.step(id, state);
      tf.dispose(stateTensors(state));
      state = r.state;
      const got = (await r.logits.array()) as number[][];
      r.logits.dispose();
      const want = expected[0]?.[t] as number[];
      const err = Math.max(...want.map((w, i) => Math.abs(w - (got[0]?.[i] as number))));
      expect(err).toBeLessThan(1e-4);
    }
    tf.dispose([full, ...stateTensors(state)]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('saves and loads bit for bit; a bad config or missing folder is a clear error', async () => {
    const model = new ByteLM(configFor('mamba3', true, 1));
    const out = join(dir, 'roundtrip');
    await saveLM(model, out);
    const back = await loadLM(out);
    const a = model.stateDict();
    const b = back.stateDict();
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a))
      expect(Array.from(await (b[k] as tf.Tensor).data())).toEqual(Array.from(await (a[k] as tf.Tensor).data()));
    model.dispose();
    back.dispose();
    await expect(loadLM(join(dir, 'nowhere'))).rejects.toThrow(LMWeightsError);
    expect(() => new ByteLM({ ...configFor('gdn', true, 0), layers: ['lstm' as never] })).toThrow(/layers\[0\]: expected one of deltanet/);
  });
});

describe('training and decoding (tiny, cpu)', () => {
  const out = () => join(dir, 'tiny');
  it('trains a few steps (loss falls), pauses and resumes, writes weights and held-out figures', async () => {
    const quiet = () => {};
    const paused = await trainLM({ out: out(), mix: 'hybrid', tiny: true, steps: 6, evalWindows: 2, maxSeconds: 1e-3, log: quiet });
    expect(paused.status).toBe('paused');
    expect(existsSync(join(out(), 'progress.json'))).toBe(true);
    await expect(trainLM({ out: out(), mix: 'hybrid', tiny: true, steps: 6, log: quiet })).rejects.toThrow(/--resume/);
    const r = await trainLM({ out: out(), mix: 'hybrid', tiny: true, steps: 6, evalWindows: 2, resume: true, log: quiet });
    expect(r.status).toBe('done');
    if (r.status !== 'done') return;
    expect(r.log.at(-1)?.loss).toBeLessThan((r.log[0]?.loss as number) - 0.3);
    expect(r.results.heldOut.bitsPerByte).toBeGreaterThan(0);
    expect(r.results.heldOut.perplexity).toBeCloseTo(2 ** r.results.heldOut.bitsPerByte, 3);
    for (const f of ['config.json', 'model.safetensors', 'train-log.json', 'results.json']) expect(existsSync(join(out(), f))).toBe(true);
    expect(existsSync(join(out(), 'state.safetensors'))).toBe(false);
    // minutes on a loaded 2-core CI machine (tens of seconds idle): the tfjs chunked delta rule is many small ops
  }, 180_000);

  it('fitSeconds sizes the run from a timing of its first steps (at most steps), and rejects a bad budget', async () => {
    const quiet: (l: string) => void = () => {};
    const lines: string[] = [];
    const small = join(dir, 'fit-small');
    const r = await trainLM({
      out: small,
      mix: 'deltanet',
      tiny: true,
      steps: 14,
      evalWindows: 2,
      fitSeconds: 1e-3,
      log: (l) => lines.push(l),
    });
    // a budget spent before the trial ends leaves the trial's steps, no more
    expect(r.status === 'done' && r.results.steps).toBe(10);
    expect(lines.some((l) => /sized to 10 steps/.test(l))).toBe(true);
    const roomy = await trainLM({
      out: join(dir, 'fit-roomy'),
      mix: 'deltanet',
      tiny: true,
      steps: 14,
      evalWindows: 2,
      fitSeconds: 600,
      log: quiet,
    });
    expect(roomy.status === 'done' && roomy.results.steps).toBe(14);
    await expect(trainLM({ out: join(dir, 'fit-bad'), mix: 'deltanet', tiny: true, fitSeconds: -1, log: quiet })).rejects.toThrow(
      /fitSeconds: expected a positive number, received -1/,
    );
  }, 300_000);

  it.each(DECODERS)('generates with %s', async (decoder) => {
    const before = tf.memory().numTensors;
    let streamed = '';
    const r = await lmGenerate({ prompt: 'The ', decoder, maxTokens: 5, dir: out(), onText: (t) => (streamed += t) });
    expect('ids' in r && r.ids.length).toBe(5);
    if ('text' in r) expect(streamed).toBe(r.text.replace(/\uFFFD$/, ''));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('compare summarises every decoder; bok reports coverage of both samplers', async () => {
    const c = await lmCompare({ prompt: 'It was', maxTokens: 3, dir: out() });
    if (!('rows' in c)) throw new Error('skipped');
    expect(c.rows.map((r) => r.decoder)).toEqual([...DECODERS]);
    const greedy = c.rows[0];
    expect(greedy?.support).toBe(1);
    for (const row of c.rows) if (row.kktResidual !== undefined) expect(row.kktResidual).toBeLessThan(1e-3);
    expect(c.rows.find((r) => r.decoder === 'softmax')?.support).toBe(256);
    const b = await lmBok({ prompts: ['The '], samples: 2, maxTokens: 4, dir: out() });
    if (!('rows' in b)) throw new Error('skipped');
    expect(b.rows.map((r) => r.sampler)).toEqual(['softmax', 'bok']);
    for (const row of b.rows) expect(row.coverage).toBeGreaterThanOrEqual(row.passRate);
  }, 20_000);

  it('runs through the CLI: lm generate streams, lm compare prints the table, bad usage exits 2 with one line', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    let streamed = '';
    const io = { out: (l: string) => lines.push(l), err: (l: string) => errors.push(l), stream: (t: string) => (streamed += t) };
    expect(await main(['lm', 'generate', '--weights', out(), '--max-tokens', '6', '--decoder', 'topk', '--backend', 'cpu'], io)).toBe(0);
    expect(lines.join('\n')).toMatch(/\[lm generate\][\s\S]*decoder topk: 6 bytes/);
    expect(streamed.length).toBeGreaterThan(0);
    lines.length = 0;
    expect(await main(['lm', 'compare', '--weights', out(), '--prompt', 'It', '--backend', 'cpu'], io)).toBe(0);
    expect(lines.join('\n')).toMatch(/\| sparsemax \| \d+ \|/);
    errors.length = 0;
    expect(await main(['lm', 'compare', '--decoder', 'topk', '--weights', out(), '--backend', 'cpu'], io)).toBe(2);
    expect(errors.at(-1)).toBe('tessera-demo: lm: --decoder: compare runs every decoder; drop the option');
    expect(await main(['compare', '--backend', 'cpu'], io)).toBe(2);
    expect(errors.at(-1)).toMatch(/'compare' is a task of the lm part: write "lm compare"/);
  });

  it('rejects an empty prompt, an unknown decoder and a missing weights folder; skips without committed weights', async () => {
    await expect(lmGenerate({ prompt: '', dir: out() })).rejects.toThrow(/--prompt: expected a non-empty string/);
    await expect(lmGenerate({ prompt: 'a', decoder: 'beam' as never, dir: out() })).rejects.toThrow(LmPartError);
    await expect(lmGenerate({ prompt: 'a', dir: join(dir, 'missing') })).rejects.toThrow(/cannot read .*config\.json/);
    const skipped = await lmGenerate({ prompt: 'a', mix: 'no-such-mix' });
    expect(skipped).toMatchObject({ ok: true, skipped: expect.stringMatching(/to be trained/) });
  });
});
