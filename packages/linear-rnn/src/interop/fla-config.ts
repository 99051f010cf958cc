import { checkOptions, describeValue, TesseraError, ValueError } from '@tessera/tensor-core';
import type { DeltaLayerOptions, GatedDeltaLayerOptions } from '../layers/delta-net.js';

/*
 * fla's configuration keys and defaults, transcribed from fla-org/flash-linear-attention
 * (fla/layers/delta_net.py, fla/layers/gated_deltanet.py, fla/models/{delta_net,gated_deltanet}/configuration_*.py,
 * fla/modules/mlp.py), and their translation into the layers' options. Everything here only reads plain
 * objects, so a bad config throws before a single weight is allocated.
 */

/** fla `DeltaNet(...)` constructor arguments (snake_case, fla's defaults). */
export interface FlaDeltaNetConfig {
  /** Default 1024 (`d_model` is fla's alias). */
  hidden_size?: number;
  d_model?: number | null;
  /** Default 1: key width hidden_size · expand_k, per head ÷ num_heads. */
  expand_k?: number;
  /** Default 1. */
  expand_v?: number;
  /** Default 4. */
  num_heads?: number;
  /** Only true (the default) is supported. */
  use_beta?: boolean;
  /** Default false. */
  use_gate?: boolean;
  /** Only true (the default) is supported. */
  use_short_conv?: boolean;
  /** Default 4. */
  conv_size?: number;
  /** Only false (the default) is supported. */
  conv_bias?: boolean;
  /** Default false: β = 2σ(·) when true. */
  allow_neg_eigval?: boolean;
  /** Only 'silu' (the default) is supported. */
  qk_activation?: string;
  /** Only 'l2' (the default) is supported. */
  qk_norm?: string;
  /** Default 1e-5. */
  norm_eps?: number;
  /** 'chunk' | 'fused_recurrent': the same math; ignored. */
  mode?: string;
  /** Ignored (a cache index in fla). */
  layer_idx?: number | null;
  /** Accepted and ignored, as fla's layer does. */
  use_output_norm?: boolean;
}

/** fla `GatedDeltaNet(...)` constructor arguments (snake_case, fla's defaults). */
export interface FlaGatedDeltaNetConfig {
  /** Default 2048. */
  hidden_size?: number;
  /** Default 2. */
  expand_v?: number;
  /** Default 256. */
  head_dim?: number;
  /** Default 6. */
  num_heads?: number;
  /** Default num_heads; a multiple of it. */
  num_v_heads?: number | null;
  /** Default true. */
  use_gate?: boolean;
  /** Only true (the default) is supported. */
  use_short_conv?: boolean;
  /** Default false. */
  allow_neg_eigval?: boolean;
  /** Default 4. */
  conv_size?: number;
  /** Only false (the default) is supported. */
  conv_bias?: boolean;
  /** Default 1e-5. */
  norm_eps?: number;
  /** 'chunk' | 'fused_recurrent': the same math; ignored. */
  mode?: string;
  /** Ignored. */
  layer_idx?: number | null;
}

/** Tessera's own options next to an fla config: the chunk length of `forward` and the init seed. */
export interface FlaLayerExtras {
  chunkSize?: number;
  seed?: number;
}

const EXTRAS = ['chunkSize', 'seed'] as const satisfies readonly (keyof FlaLayerExtras)[];

const DELTA_NET_KEYS = [
  'hidden_size',
  'd_model',
  'expand_k',
  'expand_v',
  'num_heads',
  'use_beta',
  'use_gate',
  'use_short_conv',
  'conv_size',
  'conv_bias',
  'allow_neg_eigval',
  'qk_activation',
  'qk_norm',
  'norm_eps',
  'mode',
  'layer_idx',
  'use_output_norm',
] as const satisfies readonly (keyof FlaDeltaNetConfig)[];

const GATED_DELTA_NET_KEYS = [
  'hidden_size',
  'expand_v',
  'head_dim',
  'num_heads',
  'num_v_heads',
  'use_gate',
  'use_short_conv',
  'allow_neg_eigval',
  'conv_size',
  'conv_bias',
  'norm_eps',
  'mode',
  'layer_idx',
] as const satisfies readonly (keyof FlaGatedDeltaNetConfig)[];

type Loose = Record<string, unknown>;

function isRecord(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value this build cannot compute: a `TesseraError` naming the key, what is supported and the value. */
function unsupported(where: string, key: string, value: unknown, supported: string): TesseraError {
  return new TesseraError(`${where}.${key}: expected ${supported} (what this build supports), received ${describeValue(value)}`);
}

function numberKey(cfg: Loose, key: string, fallback: number, where: string, integer: boolean): number {
  const value = cfg[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ValueError(`${where}.${key}: expected a positive ${integer ? 'integer' : 'number'}, received ${describeValue(value)}`);
  }
  return value;
}

function boolKey(cfg: Loose, key: string, fallback: boolean, where: string): boolean {
  const value = cfg[key] ?? fallback;
  if (typeof value !== 'boolean') throw new ValueError(`${where}.${key}: expected true or false, received ${describeValue(value)}`);
  return value;
}

/** `key` must be absent, null or one of `allowed`. */
function requireValue(cfg: Loose, key: string, allowed: readonly unknown[], where: string): void {
  const value = cfg[key];
  if (value === undefined || value === null) return;
  if (!allowed.includes(value)) throw unsupported(where, key, value, allowed.map((a) => JSON.stringify(a)).join(' or '));
}

function checkMode(cfg: Loose, key: string, where: string): void {
  requireValue(cfg, key, ['chunk', 'fused_recurrent'], where);
}

function extrasOf(extras: FlaLayerExtras | undefined): FlaLayerExtras {
  return checkOptions(extras, EXTRAS, 'extras');
}

/** fla DeltaNet keys (layer or model config, `where` naming it) → the layer options. */
function deltaNetOptions(cfg: Loose, where: string, normEpsDefault: number, modeKey: string): DeltaLayerOptions {
  requireValue(cfg, 'use_beta', [true], where);
  requireValue(cfg, 'use_short_conv', [true], where);
  requireValue(cfg, 'conv_bias', [false], where);
  requireValue(cfg, 'qk_activation', ['silu'], where);
  requireValue(cfg, 'qk_norm', ['l2'], where);
  checkMode(cfg, modeKey, where);
  const hiddenKey = cfg.d_model !== undefined && cfg.d_model !== null ? 'd_model' : 'hidden_size';
  const hidden = numberKey(cfg, hiddenKey, 1024, where, true);
  const heads = numberKey(cfg, 'num_heads', 4, where, true);
  const expandK = numberKey(cfg, 'expand_k', 1, where, false);
  const expandV = numberKey(cfg, 'expand_v', 1, where, false);
  // fla: key_dim = int(hidden · expand_k), head_k_dim = key_dim // num_heads (asserted divisible)
  const keyDim = Math.trunc(hidden * expandK);
  const valueDim = Math.trunc(hidden * expandV);
  if (keyDim % heads !== 0 || keyDim === 0) {
    throw new ValueError(`${where}.num_heads: expected a divisor of int(hidden_size · expand_k) = ${keyDim}, received ${heads}`);
  }
  if (valueDim % heads !== 0 || valueDim === 0) {
    throw new ValueError(`${where}.num_heads: expected a divisor of int(hidden_size · expand_v) = ${valueDim}, received ${heads}`);
  }
  const headDim = keyDim / heads;
  return {
    dModel: hidden,
    heads,
    headDim,
    expandV: valueDim / heads / headDim,
    convSize: numberKey(cfg, 'conv_size', 4, where, true),
    useGate: boolKey(cfg, 'use_gate', false, where),
    allowNegEigval: boolKey(cfg, 'allow_neg_eigval', false, where),
    normEps: numberKey(cfg, 'norm_eps', normEpsDefault, where, false),
  };
}

/** fla GatedDeltaNet keys → the layer options. */
function gatedDeltaNetOptions(cfg: Loose, where: string, normEpsDefault: number, modeKey: string): GatedDeltaLayerOptions {
  requireValue(cfg, 'use_short_conv', [true], where);
  requireValue(cfg, 'conv_bias', [false], where);
  checkMode(cfg, modeKey, where);
  const heads = numberKey(cfg, 'num_heads', 6, where, true);
  const numVHeads = cfg.num_v_heads === null || cfg.num_v_heads === undefined ? heads : numberKey(cfg, 'num_v_heads', heads, where, true);
  if (numVHeads % heads !== 0) {
    // fla requires divisibility when num_v_heads > num_heads; fewer value heads than key heads divides by zero in its kernels
    throw new ValueError(`${where}.num_v_heads: expected a multiple of num_heads (${heads}), received ${numVHeads}`);
  }
  return {
    dModel: numberKey(cfg, 'hidden_size', 2048, where, true),
    heads,
    numVHeads,
    headDim: numberKey(cfg, 'head_dim', 256, where, true),
    expandV: numberKey(cfg, 'expand_v', 2, where, false),
    convSize: numberKey(cfg, 'conv_size', 4, where, true),
    useGate: boolKey(cfg, 'use_gate', true, where),
    allowNegEigval: boolKey(cfg, 'allow_neg_eigval', false, where),
    normEps: numberKey(cfg, 'norm_eps', normEpsDefault, where, false),
  };
}

/** fla `DeltaNet(**config)` → `DeltaNet` options (see `DeltaNet.fromFlaConfig`). */
export function deltaNetOptionsFromFla(config: FlaDeltaNetConfig, extras?: FlaLayerExtras): DeltaLayerOptions {
  const cfg = checkOptions(config as FlaDeltaNetConfig, DELTA_NET_KEYS, 'config') as Loose;
  return { ...deltaNetOptions(cfg, 'config', 1e-5, 'mode'), ...extrasOf(extras) };
}

/** fla `GatedDeltaNet(**config)` → `GatedDeltaNet` options (see `GatedDeltaNet.fromFlaConfig`). */
export function gatedDeltaNetOptionsFromFla(config: FlaGatedDeltaNetConfig, extras?: FlaLayerExtras): GatedDeltaLayerOptions {
  const cfg = checkOptions(config as FlaGatedDeltaNetConfig, GATED_DELTA_NET_KEYS, 'config') as Loose;
  return { ...gatedDeltaNetOptions(cfg, 'config', 1e-5, 'mode'), ...extrasOf(extras) };
}

/** The model types `loadCausalLM` reads: fla's `DeltaNetForCausalLM` and `GatedDeltaNetForCausalLM`. */
export type FlaModelType = 'delta_net' | 'gated_deltanet';

/** A parsed fla causal-LM config: what the model builds from. */
export interface ParsedFlaConfig {
  modelType: FlaModelType;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  /** The MLP width after fla's rounding rule. */
  intermediateSize: number;
  /** config.norm_eps (1e-6 by default): the block norms, the final norm and the layers' o_norm. */
  normEps: number;
  tieWordEmbeddings: boolean;
  layer: DeltaLayerOptions | GatedDeltaLayerOptions;
  /** The config as fla would write it back: the input with every default filled in. */
  json: Record<string, unknown>;
}

/** fla's GatedMLP width: intermediate_size, else int(hidden · hidden_ratio · 2/3) rounded up to a multiple of 256. */
export function flaIntermediateSize(
  hidden: number,
  hiddenRatio: number | null | undefined,
  intermediate: number | null | undefined,
): number {
  if (intermediate !== null && intermediate !== undefined) return intermediate;
  const ratio = hiddenRatio ?? 4;
  const raw = Math.trunc((hidden * ratio * 2) / 3);
  return 256 * Math.ceil(raw / 256);
}

const MODEL_DEFAULTS: Record<FlaModelType, Record<string, unknown>> = {
  delta_net: {
    attn_mode: 'chunk',
    hidden_size: 2048,
    expand_k: 1.0,
    expand_v: 1.0,
    use_gate: false,
    use_short_conv: true,
    allow_neg_eigval: false,
    conv_size: 4,
    use_beta: true,
    use_output_norm: true,
    num_heads: 16,
    qk_norm: 'l2',
    qk_activation: 'silu',
    max_position_embeddings: 2048,
    hidden_ratio: 4,
    intermediate_size: null,
    hidden_act: 'swish',
    num_hidden_layers: 24,
    norm_eps: 1e-6,
    attn: null,
    use_cache: true,
    pad_token_id: null,
    bos_token_id: 1,
    eos_token_id: 2,
    tie_word_embeddings: false,
    initializer_range: 0.02,
    fuse_norm: true,
    fuse_swiglu: true,
    fuse_cross_entropy: true,
    fuse_linear_cross_entropy: false,
    use_l2warp: false,
    vocab_size: 32000,
    attnres_block_size: null,
  },
  gated_deltanet: {
    attn_mode: 'chunk',
    hidden_size: 2048,
    expand_v: 2.0,
    use_gate: true,
    use_short_conv: true,
    allow_neg_eigval: false,
    conv_size: 4,
    head_dim: 256,
    num_heads: 6,
    num_v_heads: null,
    max_position_embeddings: 2048,
    hidden_ratio: 4,
    intermediate_size: null,
    hidden_act: 'swish',
    num_hidden_layers: 21,
    norm_eps: 1e-6,
    attn: null,
    use_cache: true,
    pad_token_id: null,
    bos_token_id: 1,
    eos_token_id: 2,
    tie_word_embeddings: false,
    initializer_range: 0.02,
    fuse_norm: true,
    fuse_swiglu: true,
    fuse_cross_entropy: true,
    fuse_linear_cross_entropy: false,
    use_l2warp: false,
    vocab_size: 32000,
    attnres_block_size: null,
  },
};

const ARCHITECTURES: Record<FlaModelType, string> = {
  delta_net: 'DeltaNetForCausalLM',
  gated_deltanet: 'GatedDeltaNetForCausalLM',
};

/**
 * Validates an fla causal-LM `config.json` object (`where` names it in errors) and fills in fla's defaults.
 * Keys that only change how fla computes (fuse_*, attn_mode, use_cache, …) are accepted; values that change the
 * math beyond this build (an attention-hybrid `attn`, `attnres_block_size`, hidden_act 'powlu', …) throw a
 * `TesseraError` naming the key and value. Unknown keys (transformers adds several) are kept and ignored.
 */
export function parseFlaConfig(config: unknown, where = 'config'): ParsedFlaConfig {
  if (!isRecord(config)) throw new ValueError(`${where}: expected an fla config object (config.json), received ${describeValue(config)}`);
  const modelType = config.model_type;
  if (modelType !== 'delta_net' && modelType !== 'gated_deltanet') {
    throw unsupported(where, 'model_type', modelType, '"delta_net" or "gated_deltanet"');
  }
  const attn = config.attn;
  if (attn !== undefined && attn !== null) {
    // fla's hybrid models put softmax-attention layers at attn.layers; none are implemented here
    throw unsupported(where, 'attn', attn, 'null (no attention-hybrid layers)');
  }
  requireValue(config, 'attnres_block_size', [], where);
  requireValue(config, 'hidden_act', ['swish'], where);
  const normEps = numberKey(config, 'norm_eps', 1e-6, where, false);
  const layer =
    modelType === 'delta_net' ? deltaNetOptions(config, where, 1e-6, 'attn_mode') : gatedDeltaNetOptions(config, where, 1e-6, 'attn_mode');
  const hiddenSize = numberKey(config, 'hidden_size', 2048, where, true);
  const ratio = config.hidden_ratio === null ? null : numberKey(config, 'hidden_ratio', 4, where, false);
  const inter =
    config.intermediate_size === null || config.intermediate_size === undefined
      ? null
      : numberKey(config, 'intermediate_size', 1, where, true);
  const json: Record<string, unknown> = { ...MODEL_DEFAULTS[modelType], ...config };
  if (!Array.isArray(json.architectures)) json.architectures = [ARCHITECTURES[modelType]];
  return {
    modelType,
    vocabSize: numberKey(config, 'vocab_size', 32000, where, true),
    hiddenSize,
    numLayers: numberKey(config, 'num_hidden_layers', modelType === 'delta_net' ? 24 : 21, where, true),
    intermediateSize: flaIntermediateSize(hiddenSize, ratio, inter),
    normEps,
    tieWordEmbeddings: boolKey(config, 'tie_word_embeddings', false, where),
    layer: { ...layer, normEps },
    json,
  };
}
