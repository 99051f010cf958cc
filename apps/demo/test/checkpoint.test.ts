import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCausalLM, loadMambaLM } from '@tessera/linear-rnn';
import { initBackend, tf } from '@tessera/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFormat } from '../src/lm/checkpoint.js';
import { encode } from '../src/lm/data.js';
import { LMWeightsError } from '../src/lm/model.js';
import { LM_WEIGHTS, lmCompare, lmGenerate } from '../src/lm/part.js';

// checkpoints written by fla and mamba_ssm themselves (linear-rnn's interop fixtures): byte-sized vocabularies
const fixtures = fileURLToPath(new URL('../../../packages/linear-rnn/test/fixtures/', import.meta.url));
const FLA = join(fixtures, 'fla/lm-gated_deltanet');
const MAMBA = join(fixtures, 'mamba/lm-mamba3');

let dir: string;
beforeAll(async () => {
  await initBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'tessera-lm-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Greedy continuation computed directly on linear-rnn's model: full forward over the sequence each step. */
async function greedyReference(
  model: { forward(ids: tf.Tensor): tf.Tensor; dispose(): void },
  prompt: string,
  n: number,
): Promise<number[]> {
  const ids = Array.from(encode(prompt));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const next = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'));
      return tf.argMax(tf.reshape(tf.slice(logits, [0, ids.length - 1, 0], [1, 1, -1]), [-1]));
    });
    const id = (await next.data())[0] as number;
    next.dispose();
    ids.push(id);
    out.push(id);
  }
  model.dispose();
  return out;
}

describe('lm commands on fla and mamba_ssm checkpoints', () => {
  it('tells the formats apart by config.json', async () => {
    expect((await checkpointFormat(FLA)).format).toBe('fla');
    expect((await checkpointFormat(MAMBA)).format).toBe('mamba_ssm');
    expect((await checkpointFormat(join(LM_WEIGHTS, 'hybrid'))).format).toBe('tessera');
  });

  it.each([
    ['fla gated_deltanet', FLA, loadCausalLM],
    ['mamba_ssm Mamba-3', MAMBA, loadMambaLM],
  ] as const)('generates from a %s checkpoint greedily, as its forward pass does', async (_, path, load) => {
    const before = tf.memory().numTensors;
    const r = await lmGenerate({ prompt: 'The ', dir: path, maxTokens: 6 });
    expect('skipped' in r).toBe(false);
    if ('skipped' in r) return;
    expect(r.ids).toHaveLength(6);
    expect(r.ids).toEqual(await greedyReference((await load(path)) as never, 'The ', 6));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('compare runs every decoder on a checkpoint', async () => {
    const r = await lmCompare({ prompt: 'ab', dir: FLA, maxTokens: 3 });
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.rows.map((row) => row.support).every((s) => s >= 1 && s <= 256)).toBe(true);
  });

  it('refuses a checkpoint that is not byte-level, or one that does not load, in one line', async () => {
    const wide = join(dir, 'wide');
    cpSync(FLA, wide, { recursive: true });
    const config = JSON.parse(readFileSync(join(wide, 'config.json'), 'utf8'));
    writeFileSync(join(wide, 'config.json'), JSON.stringify({ ...config, vocab_size: 32000 }));
    await expect(lmGenerate({ prompt: 'x', dir: wide, maxTokens: 1 })).rejects.toThrow(/vocab_size ≤ 256.*received vocab_size 32000/);
    const broken = join(dir, 'broken');
    cpSync(FLA, broken, { recursive: true });
    const bytes = readFileSync(join(broken, 'model.safetensors'));
    writeFileSync(join(broken, 'model.safetensors'), bytes.subarray(0, bytes.length >> 1));
    const e = await lmGenerate({ prompt: 'x', dir: broken, maxTokens: 1 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LMWeightsError);
    expect((e as Error).message).toMatch(/not a loadable fla checkpoint/);
    expect((e as Error).message).not.toContain('\n');
  });
});
