import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCausalLM, loadMambaLM, toStepModel } from '@tessera/linear-rnn';
import type { StepModel } from '@tessera/simplex-decoding';
import { TesseraError } from '@tessera/tensor-core';
import { LM_FILES, LMWeightsError } from './model.js';

/** Who wrote a weights folder: this demo's `train:lm`, fla (a Hugging Face causal LM) or mamba_ssm. */
export type CheckpointFormat = 'tessera' | 'fla' | 'mamba_ssm';

/** A loaded LM as the lm commands drive it. */
export interface OpenedLM {
  format: CheckpointFormat;
  /** A fresh decoding adapter: the first step prefills the prompt, later ones step one byte. */
  adapter(): StepModel<unknown> & { release(): void };
  dispose(): void;
}

/**
 * The format of `dir`'s config.json, and the config: fla's configs carry `model_type` (delta_net, gated_deltanet),
 * mamba_ssm's `d_model` and `ssm_cfg`, ours `layers`. An unreadable config is the user's error (`LMWeightsError`).
 */
export async function checkpointFormat(dir: string): Promise<{ format: CheckpointFormat; config: Record<string, unknown> }> {
  let config: unknown;
  try {
    config = JSON.parse(await readFile(join(dir, LM_FILES.config), 'utf8'));
  } catch (e) {
    throw new LMWeightsError(`lm: cannot read ${join(dir, LM_FILES.config)}: ${(e as Error).message.split('\n')[0]}`);
  }
  const c = (config ?? {}) as Record<string, unknown>;
  if (typeof c.model_type === 'string') return { format: 'fla', config: c };
  if ('d_model' in c && 'ssm_cfg' in c) return { format: 'mamba_ssm', config: c };
  return { format: 'tessera', config: c };
}

/**
 * An fla or mamba_ssm checkpoint through linear-rnn's interop (`loadCausalLM`, `loadMambaLM`: names, shapes and config
 * checked; F32/F16/BF16). The demo speaks bytes, so the checkpoint must be byte-level: `vocab_size` ≤ 256 (mamba_ssm
 * pads it, e.g. 250 → 256; a prompt byte past `vocab_size` is refused by the model's id check).
 */
export async function openCheckpoint(
  dir: string,
  format: Exclude<CheckpointFormat, 'tessera'>,
  config: Record<string, unknown>,
): Promise<OpenedLM> {
  const vocab = config.vocab_size;
  if (typeof vocab === 'number' && vocab > 256) {
    throw new LMWeightsError(
      `lm: --weights ${dir}: expected a byte-level ${format} checkpoint (vocab_size ≤ 256: the demo's tokens are bytes), received vocab_size ${vocab}`,
    );
  }
  let model: Awaited<ReturnType<typeof loadCausalLM>> | Awaited<ReturnType<typeof loadMambaLM>>;
  try {
    model = format === 'fla' ? await loadCausalLM(dir) : await loadMambaLM(dir);
  } catch (e) {
    if (!(e instanceof TesseraError)) throw e;
    throw new LMWeightsError(`lm: --weights ${dir}: not a loadable ${format} checkpoint: ${e.message.split('\n')[0]}`);
  }
  const loaded = model;
  return {
    format,
    adapter: () => toStepModel(loaded as Parameters<typeof toStepModel>[0]) as StepModel<unknown> & { release(): void },
    dispose: () => loaded.dispose(),
  };
}
