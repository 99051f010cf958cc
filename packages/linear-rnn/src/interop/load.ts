import {
  describeValue,
  FormatError,
  type Module,
  readSafetensors,
  ShapeError,
  type Tensor,
  TesseraError,
  tf,
  ValueError,
  writeFileAtomic,
  writeSafetensors,
} from '@tessera/tensor-core';
import { FlaCausalLM, type FlaCausalLMOptions } from './causal-lm.js';
import { parseFlaConfig } from './fla-config.js';
import { MambaLM, type MambaLMOptions } from './mamba-lm.js';
import { parseMambaConfig } from './mamba-config.js';

/** A checkpoint in memory (a browser's fetched files): fla's config.json object and the files by name. */
export interface CheckpointFiles {
  /** The parsed `config.json`. */
  config: Record<string, unknown>;
  /** `model.safetensors`, or `model.safetensors.index.json` and the shards it names. */
  files: Record<string, Uint8Array>;
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Reads a directory's config.json and weight files (Node only); `parse` checks the config before any weight is read. */
async function readDirectory(dir: string, parse: (config: unknown, where: string) => unknown): Promise<CheckpointFiles> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let configText: string;
  try {
    configText = await fs.readFile(path.join(dir, 'config.json'), 'utf8');
  } catch (e) {
    throw new ValueError(
      `source: expected a checkpoint directory holding config.json, received ${JSON.stringify(dir)} (${(e as Error).message})`,
    );
  }
  let config: unknown;
  try {
    config = JSON.parse(configText);
  } catch (e) {
    throw new FormatError(`${dir}/config.json: not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(config)) throw new FormatError(`${dir}/config.json: expected a JSON object, received ${describeValue(config)}`);
  // the config is checked before any weight file is read
  parse(config, 'config.json');
  const files: Record<string, Uint8Array> = {};
  const names = await fs.readdir(dir);
  if (names.includes(INDEX)) {
    files[INDEX] = await fs.readFile(path.join(dir, INDEX));
    for (const shard of shardNames(files[INDEX], dir)) {
      if (!names.includes(shard))
        throw new ValueError(`${dir}/${INDEX}: names the shard ${JSON.stringify(shard)}, which the directory lacks`);
      files[shard] = await fs.readFile(path.join(dir, shard));
    }
  } else if (names.includes(SINGLE)) {
    files[SINGLE] = await fs.readFile(path.join(dir, SINGLE));
  } else {
    throw new ValueError(
      `source: expected ${SINGLE} or ${INDEX} in ${JSON.stringify(dir)}, received the files ${names.join(', ') || 'none'}`,
    );
  }
  return { config, files };
}

function parseIndex(bytes: Uint8Array, where: string): Record<string, string> {
  let index: unknown;
  try {
    index = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FormatError(`${where}/${INDEX}: not valid JSON (${(e as Error).message})`);
  }
  const map = isRecord(index) ? index.weight_map : undefined;
  if (!isRecord(map) || !Object.values(map).every((v) => typeof v === 'string')) {
    throw new FormatError(`${where}/${INDEX}: expected { weight_map: { tensor name: shard file } }, received ${describeValue(index)}`);
  }
  return map as Record<string, string>;
}

function shardNames(bytes: Uint8Array, where: string): string[] {
  return [...new Set(Object.values(parseIndex(bytes, where)))];
}

/** Decodes every weight file; on a failure the tensors read so far are disposed. */
function readTensors(files: Record<string, Uint8Array>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  try {
    if (files[INDEX] !== undefined) {
      const map = parseIndex(files[INDEX], 'files');
      for (const shard of [...new Set(Object.values(map))]) {
        const bytes = files[shard];
        if (!(bytes instanceof Uint8Array))
          throw new ValueError(`files["${shard}"]: expected the shard's bytes (named by ${INDEX}), received ${describeValue(bytes)}`);
        const tensors = readSafetensorsNamed(bytes, shard);
        for (const [name, t] of Object.entries(tensors)) {
          if (map[name] !== shard || Object.hasOwn(out, name)) {
            t.dispose();
            if (map[name] !== shard)
              throw new FormatError(`${shard}: holds ${JSON.stringify(name)}, which ${INDEX} maps to ${JSON.stringify(map[name] ?? null)}`);
            continue;
          }
          out[name] = t;
        }
      }
    } else {
      const bytes = files[SINGLE];
      if (!(bytes instanceof Uint8Array)) {
        throw new ValueError(
          `files: expected "${SINGLE}" or "${INDEX}" as a Uint8Array, received the names ${Object.keys(files).join(', ') || 'none'}`,
        );
      }
      Object.assign(out, readSafetensorsNamed(bytes, SINGLE));
    }
  } catch (e) {
    tf.dispose(Object.values(out));
    throw e;
  }
  return out;
}

function readSafetensorsNamed(bytes: Uint8Array, name: string): Record<string, Tensor> {
  try {
    return readSafetensors(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${name}: ${e.message}`);
    throw e;
  }
}

/**
 * Checks `tensors` against `model`'s variables by name (every missing and every unexpected name listed)
 * and shape (each mismatch: name, expected, received), then assigns them. A tied checkpoint may still carry
 * `lm_head.weight` (PyTorch's `state_dict()` lists it): it must equal the embedding's shape (`tiedTo`) and is skipped.
 */
function assignWeights(model: Module, tensors: Record<string, Tensor>, what: string, tiedTo: Tensor | undefined): void {
  const own = model.stateDict();
  const tied = tiedTo !== undefined;
  const given = Object.keys(tensors).filter((n) => !(tied && n === 'lm_head.weight'));
  const missing = Object.keys(own).filter((n) => !Object.hasOwn(tensors, n));
  const unexpected = given.filter((n) => !Object.hasOwn(own, n));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing tensors: ${missing.join(', ')}`);
  if (unexpected.length > 0) problems.push(`unexpected tensors: ${unexpected.join(', ')}`);
  if (problems.length > 0) throw new TesseraError(`checkpoint: does not match the config's ${what} model: ${problems.join('; ')}`);
  const shapes: string[] = [];
  const at = (name: string): Tensor => tensors[name] as Tensor;
  const check = (name: string, expected: number[]) => {
    const received = at(name).shape;
    if (!tf.util.arraysEqual(received, expected))
      shapes.push(`${name}: expected ${formatShape(expected)}, received ${formatShape(received)}`);
  };
  for (const [name, variable] of Object.entries(own)) check(name, variable.shape);
  if (tiedTo !== undefined && Object.hasOwn(tensors, 'lm_head.weight')) check('lm_head.weight', tiedTo.shape);
  if (shapes.length > 0) throw new ShapeError(`checkpoint: tensors of the wrong shape: ${shapes.join('; ')}`);
  const dict: Record<string, Tensor> = {};
  for (const name of Object.keys(own)) dict[name] = at(name).dtype === 'float32' ? at(name) : tf.cast(at(name), 'float32');
  try {
    model.loadStateDict(dict);
  } finally {
    for (const [name, t] of Object.entries(dict)) if (t !== tensors[name]) t.dispose();
  }
}

/**
 * Loads an fla causal LM (`model_type` "delta_net" or "gated_deltanet") unchanged: `source` is a checkpoint
 * directory (Node: config.json + model.safetensors, or model.safetensors.index.json + shards) or
 * `{ config, files }` (a browser). F32, F16 and BF16 weights load (computed in float32). The config is checked
 * first (an unsupported value throws a `TesseraError` naming the key), then every tensor name (all missing and
 * extra ones named) and shape; a corrupt or truncated file throws a `FormatError`. Nothing half-loaded stays:
 * on any error everything built so far is disposed.
 */
export async function loadCausalLM(source: string | CheckpointFiles, opts?: FlaCausalLMOptions): Promise<FlaCausalLM> {
  const ckpt = await checkpointOf(source, parseFlaConfig);
  parseFlaConfig(ckpt.config, 'config');
  const tensors = readTensors(ckpt.files);
  let model: FlaCausalLM | undefined;
  try {
    model = new FlaCausalLM(ckpt.config, opts);
    assignWeights(model, tensors, model.modelType, model.lmHead === undefined ? model.embeddings.weight : undefined);
    return model;
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** `source` (a directory or `{ config, files }`) → the checkpoint in memory, its config checked by `parse`. */
async function checkpointOf(
  source: string | CheckpointFiles,
  parse: (config: unknown, where: string) => unknown,
): Promise<CheckpointFiles> {
  let ckpt: CheckpointFiles;
  if (typeof source === 'string') {
    if (source === '') throw new ValueError('source: expected a checkpoint directory or { config, files }, received ""');
    ckpt = await readDirectory(source, parse);
  } else if (isRecord(source) && isRecord(source.config) && isRecord(source.files)) {
    const extra = Object.keys(source).filter((k) => k !== 'config' && k !== 'files');
    if (extra.length > 0) throw new ValueError(`source: expected { config, files }, received the extra keys ${extra.join(', ')}`);
    ckpt = source as CheckpointFiles;
  } else {
    throw new ValueError(`source: expected a checkpoint directory or { config, files }, received ${describeValue(source)}`);
  }
  return ckpt;
}

/**
 * Loads a mamba_ssm `MambaLMHeadModel` with Mamba-3 mixers unchanged: `source` is a directory (Node: config.json —
 * the MambaConfig — and model.safetensors, or an index + shards) or `{ config, files }`. The config is checked
 * first (attention layers, an ssm_cfg.layer other than "Mamba3", is_mimo, … throw a `TesseraError` naming key and
 * value), then every tensor name (all missing and extra named) and shape, before any weight is assigned; a
 * corrupt or truncated file throws a `FormatError`. A tied checkpoint may carry `lm_head.weight` or not.
 */
export async function loadMambaLM(source: string | CheckpointFiles, opts?: MambaLMOptions): Promise<MambaLM> {
  const ckpt = await checkpointOf(source, parseMambaConfig);
  parseMambaConfig(ckpt.config, 'config');
  const tensors = readTensors(ckpt.files);
  let model: MambaLM | undefined;
  try {
    model = new MambaLM(ckpt.config, opts);
    assignWeights(model, tensors, 'mamba_ssm Mamba-3', model.lmHead === undefined ? model.embedding.weight : undefined);
    return model;
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/**
 * Writes `model` as fla writes it: `dir/config.json` (the config with fla's defaults) and `dir/model.safetensors`
 * (fla's `state_dict()` names, `[out, in]` Linear weights, `[C, 1, K]` conv weights, float32, `format: pt`),
 * each atomically (Node only); `dir` is created when absent. A tied fla model stores `model.embeddings.weight`
 * only, as transformers does. A `MambaLM` is written as mamba_ssm's `state_dict()` (the MambaConfig as config.json;
 * a tied model stores `lm_head.weight` as a copy of `backbone.embedding.weight`, so `load_state_dict` of the
 * safetensors dict works strict). Returns the paths written.
 */
export async function saveCheckpoint(model: FlaCausalLM | MambaLM, dir: string): Promise<{ config: string; weights: string }> {
  if (!(model instanceof FlaCausalLM) && !(model instanceof MambaLM))
    throw new ValueError(`model: expected a FlaCausalLM or MambaLM (from loadCausalLM / loadMambaLM), received ${describeValue(model)}`);
  if (typeof dir !== 'string' || dir === '')
    throw new ValueError(`dir: expected a non-empty directory path, received ${describeValue(dir)}`);
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const dict: Record<string, Tensor> = model.stateDict();
  // mamba_ssm's strict load_state_dict wants lm_head.weight even when tied (its state_dict() lists both names)
  if (model instanceof MambaLM && model.lmHead === undefined) dict['lm_head.weight'] = model.embedding.weight;
  const bytes = await writeSafetensors(dict, { metadata: { format: 'pt' } });
  await fs.mkdir(dir, { recursive: true });
  const config = path.join(dir, 'config.json');
  const weights = path.join(dir, SINGLE);
  await writeFileAtomic(weights, bytes);
  await writeFileAtomic(config, new TextEncoder().encode(`${JSON.stringify(model.config, null, 2)}\n`));
  return { config, weights };
}
