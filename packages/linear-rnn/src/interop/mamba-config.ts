import { checkOptions, describeValue, TesseraError, ValueError } from '@tessera/tensor-core';
import type { Mamba3Config } from '../layers/mamba3.js';

/*
 * mamba_ssm's configuration keys and defaults, transcribed from state-spaces/mamba (commit e9594ce1, 2026-07-23):
 * mamba_ssm/modules/mamba3.py (the Mamba3 constructor), mamba_ssm/models/config_mamba.py (MambaConfig) and
 * mamba_ssm/models/mixer_seq_simple.py (create_block, MixerModel, MambaLMHeadModel). Only plain objects are read
 * here, so a bad config throws before a single weight is allocated.
 */

/** mamba_ssm `Mamba3(d_model, ...)` constructor arguments (snake_case, mamba_ssm's defaults). */
export interface MambaSsmConfig {
  /** Required for a layer (the LM passes its d_model). */
  d_model?: number;
  /** Default 128. */
  d_state?: number;
  /** Default 2: d_inner = int(expand · d_model). */
  expand?: number;
  /** Default 64. */
  headdim?: number;
  /** Default 1; divides the head count. */
  ngroups?: number;
  /** 0.5 (default) or 1. */
  rope_fraction?: number;
  /** Defaults 0.001, 0.1, 1e-4 (initialisation only). */
  dt_min?: number;
  dt_max?: number;
  dt_init_floor?: number;
  /** Default 1e-4. */
  A_floor?: number;
  /** Default false. */
  is_outproj_norm?: boolean;
  /** Only false (the default) is supported: see the README. */
  is_mimo?: boolean;
  /** Ignored unless is_mimo. */
  mimo_rank?: number;
  /** Ignored (a kernel fusion switch; the math is the same). */
  fuse_pregate_headwise_norm?: boolean;
  /** mamba_ssm's kernel chunk length; ignored (Tessera's own chunkSize is an extra). */
  chunk_size?: number;
  /** Ignored, as mamba_ssm does. */
  dropout?: number;
  layer_idx?: number | null;
  n_layer?: number | null;
  /** In an LM's ssm_cfg: which mixer; only "Mamba3" loads. */
  layer?: string;
}

/** Tessera's own options next to a mamba_ssm config: the chunk length of `forward` and the init seed. */
export interface MambaLayerExtras {
  chunkSize?: number;
  seed?: number;
}

const EXTRAS = ['chunkSize', 'seed'] as const satisfies readonly (keyof MambaLayerExtras)[];

type Loose = Record<string, unknown>;

function isRecord(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unsupported(where: string, key: string, value: unknown, supported: string): TesseraError {
  return new TesseraError(`${where}.${key}: expected ${supported} (what this build supports), received ${describeValue(value)}`);
}

function numberKey(cfg: Loose, key: string, fallback: number | undefined, where: string, integer: boolean, allowZero = false): number {
  const value = cfg[key] ?? fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (value === 0 && !allowZero) ||
    (integer && !Number.isInteger(value))
  ) {
    const what = allowZero ? 'non-negative' : 'positive';
    throw new ValueError(`${where}.${key}: expected a ${what} ${integer ? 'integer' : 'number'}, received ${describeValue(value)}`);
  }
  return value;
}

function boolKey(cfg: Loose, key: string, fallback: boolean, where: string): boolean {
  const value = cfg[key] ?? fallback;
  if (typeof value !== 'boolean') throw new ValueError(`${where}.${key}: expected true or false, received ${describeValue(value)}`);
  return value;
}

/**
 * mamba_ssm `Mamba3` constructor arguments (`where` names them in errors) → `Mamba3Config`. mamba_ssm's module
 * swallows unknown keyword arguments (`**kwargs`), so unknown keys are ignored here too. is_mimo true throws a
 * `TesseraError`: mamba_ssm's MIMO kernels pair rotary dims i and i + N/2, this build pairs adjacent ones.
 */
export function mamba3OptionsFromMamba(config: unknown, where = 'config', extras?: MambaLayerExtras): Mamba3Config {
  if (!isRecord(config)) throw new ValueError(`${where}: expected mamba_ssm Mamba3 arguments, received ${describeValue(config)}`);
  const e = checkOptions(extras, EXTRAS, 'extras');
  if (config.layer !== undefined && config.layer !== 'Mamba3') {
    throw unsupported(where, 'layer', config.layer, '"Mamba3"');
  }
  if (boolKey(config, 'is_mimo', false, where)) {
    throw unsupported(where, 'is_mimo', config.is_mimo, 'false (MIMO rotates dims i and i + N/2 in mamba_ssm, adjacent pairs here)');
  }
  const rope = config.rope_fraction ?? 0.5;
  if (rope !== 0.5 && rope !== 1) throw unsupported(where, 'rope_fraction', rope, '0.5 or 1 (as mamba_ssm asserts)');
  const dModel = numberKey(config, 'd_model', undefined, where, true);
  const expand = numberKey(config, 'expand', 2, where, false);
  // mamba_ssm: d_inner = int(expand · d_model)
  const dInner = Math.trunc(expand * dModel);
  return {
    dModel,
    dState: numberKey(config, 'd_state', 128, where, true),
    headDim: numberKey(config, 'headdim', 64, where, true),
    expand: dInner / dModel,
    ngroups: numberKey(config, 'ngroups', 1, where, true),
    ropeFraction: rope,
    dtMin: numberKey(config, 'dt_min', 0.001, where, false),
    dtMax: numberKey(config, 'dt_max', 0.1, where, false),
    dtInitFloor: numberKey(config, 'dt_init_floor', 1e-4, where, false, true),
    aFloor: numberKey(config, 'A_floor', 1e-4, where, false, true),
    outprojNorm: boolKey(config, 'is_outproj_norm', false, where),
    rank: 1,
    ...(e.chunkSize === undefined ? {} : { chunkSize: e.chunkSize }),
    ...(e.seed === undefined ? {} : { seed: e.seed }),
  };
}

/** mamba_ssm `MambaConfig` (config.json of a `MambaLMHeadModel`), its defaults. */
export const MAMBA_CONFIG_DEFAULTS = {
  d_model: 2560,
  d_intermediate: 0,
  n_layer: 64,
  vocab_size: 50277,
  ssm_cfg: {},
  attn_layer_idx: [],
  attn_cfg: {},
  rms_norm: true,
  residual_in_fp32: true,
  fused_add_norm: true,
  pad_vocab_size_multiple: 8,
  tie_embeddings: true,
} as const;

/** A checked MambaConfig with its derived sizes. */
export interface ParsedMambaConfig {
  dModel: number;
  numLayers: number;
  /** The embedding rows: vocab_size padded up to a multiple of pad_vocab_size_multiple, as mamba_ssm does. */
  vocabSize: number;
  /** GatedMLP hidden width (0: no MLP, no norm2). */
  dIntermediate: number;
  rmsNorm: boolean;
  tieEmbeddings: boolean;
  /** The mixer's options (without chunkSize/seed). */
  mixer: Mamba3Config;
  /** The config with every MambaConfig default filled in (what saveCheckpoint writes). */
  json: Record<string, unknown>;
}

/**
 * Validates a mamba_ssm `MambaConfig` object (`where` names it in errors) and fills in its defaults. Unsupported
 * values throw a `TesseraError` naming key and value: attention layers (`attn_layer_idx` non-empty), an
 * `ssm_cfg.layer` other than "Mamba3" (mamba_ssm's default is "Mamba1"), `ssm_cfg.is_mimo`. Keys that only change
 * how mamba_ssm computes (fused_add_norm, residual_in_fp32: Tessera computes in float32 throughout) are accepted.
 * Unknown top-level keys throw (MambaConfig(**config) would reject them too).
 */
export function parseMambaConfig(config: unknown, where = 'config'): ParsedMambaConfig {
  if (!isRecord(config))
    throw new ValueError(`${where}: expected a mamba_ssm MambaConfig object (config.json), received ${describeValue(config)}`);
  const unknown = Object.keys(config).filter((k) => !Object.hasOwn(MAMBA_CONFIG_DEFAULTS, k));
  if (unknown.length > 0) {
    throw new ValueError(
      `${where}: expected only MambaConfig keys (${Object.keys(MAMBA_CONFIG_DEFAULTS).join(', ')}), received ${unknown.join(', ')}`,
    );
  }
  const attn = config.attn_layer_idx ?? [];
  if (!Array.isArray(attn))
    throw new ValueError(`${where}.attn_layer_idx: expected a list of layer indices, received ${describeValue(attn)}`);
  if (attn.length > 0) throw unsupported(where, 'attn_layer_idx', attn, '[] (no attention layers)');
  const ssm = config.ssm_cfg ?? {};
  if (!isRecord(ssm)) throw new ValueError(`${where}.ssm_cfg: expected an object, received ${describeValue(ssm)}`);
  if (ssm.layer !== 'Mamba3') throw unsupported(`${where}.ssm_cfg`, 'layer', ssm.layer ?? 'Mamba1 (the default)', '"Mamba3"');
  const dModel = numberKey(config, 'd_model', 2560, where, true);
  const mixer = mamba3OptionsFromMamba({ ...ssm, d_model: dModel }, `${where}.ssm_cfg`);
  const vocab = numberKey(config, 'vocab_size', 50277, where, true);
  const pad = numberKey(config, 'pad_vocab_size_multiple', 8, where, true);
  const dIntermediate = numberKey(config, 'd_intermediate', 0, where, true, true);
  boolKey(config, 'residual_in_fp32', true, where);
  boolKey(config, 'fused_add_norm', true, where);
  return {
    dModel,
    numLayers: numberKey(config, 'n_layer', 64, where, true),
    vocabSize: vocab % pad === 0 ? vocab : vocab + pad - (vocab % pad),
    dIntermediate: dIntermediate === 0 ? 0 : 128 * Math.ceil(dIntermediate / 128),
    rmsNorm: boolKey(config, 'rms_norm', true, where),
    tieEmbeddings: boolKey(config, 'tie_embeddings', true, where),
    mixer,
    json: { ...structuredClone(MAMBA_CONFIG_DEFAULTS), ...structuredClone(config) } as Record<string, unknown>,
  };
}
