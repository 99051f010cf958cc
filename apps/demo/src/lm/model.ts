import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeltaNet, type DeltaLayerState, EFLA, GatedDeltaNet, Mamba3 } from '@tessera/linear-rnn';
import { attention, SparseAttention } from '@tessera/sparse-attention';
import {
  checkDtype,
  checkOptions,
  checkRange,
  checkShape,
  describeValue,
  Linear,
  loadSafetensors,
  Module,
  philoxNormal,
  RMSNorm,
  saveSafetensors,
  type Tensor,
  TesseraError,
  tf,
  ValueError,
  type Variable,
  writeFileAtomic,
} from '@tessera/tensor-core';

/** The mixer of one block: a linear-RNN layer of @tessera/linear-rnn or @tessera/sparse-attention's causal attention. */
export type MixerKind = 'deltanet' | 'gdn' | 'efla' | 'mamba3' | 'sparse-attn';
export const MIXER_KINDS: readonly MixerKind[] = ['deltanet', 'gdn', 'efla', 'mamba3', 'sparse-attn'];

/** Everything that defines the architecture; written as config.json beside model.safetensors. */
export interface LMConfig {
  /** Byte-level: 256. */
  vocabSize: number;
  dModel: number;
  /** One mixer per block, bottom first. */
  layers: MixerKind[];
  /** Heads × headDim of the delta-rule and attention mixers (Mamba-3 uses its own `mamba` settings). */
  heads: number;
  headDim: number;
  /** SwiGLU hidden width. */
  mlpHidden: number;
  /** The output projection is the embedding table (transposed) when true. */
  tieEmbeddings: boolean;
  /** Training context; also the attention layers' decoding window (their KV cache keeps the last `context` tokens). */
  context: number;
  normEps: number;
  /** Chunk length of the linear-RNN chunked forms. */
  chunkSize: number;
  mamba: { dState: number; headDim: number; expand: number };
  /** SparseAttention's hybrid-mask settings and the mode `forward` runs in ('sparse' in training, or 'dense'). */
  attention: { mode: 'dense' | 'sparse'; bq: number; bk: number; topK: number; topP: number };
  seed: number;
}

/** The demo's default size: trains to recognisable English in minutes on an H100 (see README). */
export function defaultConfig(layers: MixerKind[], overrides: Partial<Omit<LMConfig, 'layers'>> = {}): LMConfig {
  return {
    vocabSize: 256,
    dModel: 256,
    layers,
    heads: 4,
    headDim: 64,
    mlpHidden: 512,
    tieEmbeddings: true,
    context: 256,
    normEps: 1e-6,
    chunkSize: 64,
    mamba: { dState: 32, headDim: 32, expand: 2 },
    attention: { mode: 'sparse', bq: 32, bk: 32, topK: 0.25, topP: 0.9 },
    seed: 0,
    ...overrides,
  };
}

/** A config that cannot build a model (from an options object or a config.json). */
export class LMConfigError extends TesseraError {}

const CONFIG_KEYS = [
  'vocabSize',
  'dModel',
  'layers',
  'heads',
  'headDim',
  'mlpHidden',
  'tieEmbeddings',
  'context',
  'normEps',
  'chunkSize',
  'mamba',
  'attention',
  'seed',
] as const satisfies readonly (keyof LMConfig)[];

/** Validates a config (every field present and in range); returns it. */
export function checkLMConfig(config: unknown, name = 'config'): LMConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new LMConfigError(`${name}: expected an LM config object, received ${describeValue(config)}`);
  }
  const c = checkOptions(config as unknown as LMConfig, CONFIG_KEYS, name);
  for (const key of CONFIG_KEYS) {
    if ((c as unknown as Record<string, unknown>)[key] === undefined)
      throw new LMConfigError(`${name}.${key}: expected a value, received undefined`);
  }
  const int = (v: number, key: string, min: number, max: number) => checkRange(v, { min, max, integer: true }, `${name}.${key}`);
  int(c.vocabSize, 'vocabSize', 2, 1 << 20);
  int(c.dModel, 'dModel', 1, 8192);
  int(c.heads, 'heads', 1, 256);
  int(c.headDim, 'headDim', 1, 1024);
  int(c.mlpHidden, 'mlpHidden', 1, 65536);
  int(c.context, 'context', 1, 1 << 16);
  int(c.chunkSize, 'chunkSize', 1, 256);
  int(c.seed, 'seed', 0, 2 ** 32);
  checkRange(c.normEps, { min: 0, max: 1 }, `${name}.normEps`);
  if (typeof c.tieEmbeddings !== 'boolean')
    throw new LMConfigError(`${name}.tieEmbeddings: expected a boolean, received ${describeValue(c.tieEmbeddings)}`);
  if (!Array.isArray(c.layers) || c.layers.length === 0) {
    throw new LMConfigError(`${name}.layers: expected a non-empty array of mixer kinds, received ${describeValue(c.layers)}`);
  }
  c.layers.forEach((k, i) => {
    if (!MIXER_KINDS.includes(k))
      throw new LMConfigError(`${name}.layers[${i}]: expected one of ${MIXER_KINDS.join(', ')}, received ${describeValue(k)}`);
  });
  checkOptions(c.mamba, ['dState', 'headDim', 'expand'], `${name}.mamba`);
  checkOptions(c.attention, ['mode', 'bq', 'bk', 'topK', 'topP'], `${name}.attention`);
  if (c.attention.mode !== 'dense' && c.attention.mode !== 'sparse') {
    throw new LMConfigError(`${name}.attention.mode: expected 'dense' or 'sparse', received ${describeValue(c.attention.mode)}`);
  }
  return c;
}

/** The KV cache of an attention layer: `[B, H, t, D]` keys and values of the last t ≤ context tokens. */
export interface KVCache {
  k: Tensor;
  v: Tensor;
}
/** One entry per block: the mixer's recurrent state, or an attention layer's KV cache (undefined before the first token). */
export type LayerState = DeltaLayerState | Record<string, Tensor> | KVCache;
export type LMState = LayerState[];

/** A module that only groups children (fla's `model` wrapper and `nn.ModuleList`). */
class Container extends Module {
  add<M extends Module>(name: string, module: M): M {
    return this.child(name, module);
  }
}

class Embedding extends Module {
  readonly weight: Variable;
  constructor(vocab: number, dim: number, seed: number) {
    super();
    this.weight = this.param('weight', philoxNormal([vocab, dim], { seed, mean: 0, std: 0.02 }));
  }
}

/** SwiGLU: down(SiLU(gate(x)) · up(x)), fla's GatedMLP. */
class SwiGLU extends Module {
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
  constructor(dim: number, hidden: number, seed: number) {
    super();
    this.gate = this.child('gate_proj', new Linear(dim, hidden, { seed }));
    this.up = this.child('up_proj', new Linear(dim, hidden, { seed: seed + 1 }));
    this.down = this.child('down_proj', new Linear(hidden, dim, { seed: seed + 2 }));
  }
  forward(x: Tensor): Tensor {
    const g = this.gate.forward(x);
    return this.down.forward(tf.mul(tf.mul(g, tf.sigmoid(g)), this.up.forward(x)));
  }
}

type RnnMixer = DeltaNet | GatedDeltaNet | EFLA | Mamba3;

/** Pre-norm residual block: x + mixer(norm(x)), then h + SwiGLU(norm(h)). */
class Block extends Module {
  readonly kind: MixerKind;
  readonly attnNorm: RMSNorm;
  readonly mixer: RnnMixer | SparseAttention;
  readonly mlpNorm: RMSNorm;
  readonly mlp: SwiGLU;
  readonly context: number;
  constructor(c: LMConfig, index: number) {
    super();
    this.kind = c.layers[index] as MixerKind;
    this.context = c.context;
    const seed = c.seed * 64 + index * 8 + 1;
    this.attnNorm = this.child('attn_norm', new RMSNorm(c.dModel, { eps: c.normEps }));
    const rnn = { dModel: c.dModel, heads: c.heads, headDim: c.headDim, chunkSize: c.chunkSize, seed };
    let mixer: RnnMixer | SparseAttention;
    switch (this.kind) {
      case 'deltanet':
        mixer = new DeltaNet(rnn);
        break;
      case 'gdn':
        mixer = new GatedDeltaNet(rnn);
        break;
      case 'efla':
        mixer = new EFLA(rnn);
        break;
      case 'mamba3':
        mixer = new Mamba3({ dModel: c.dModel, ...c.mamba, chunkSize: c.chunkSize, seed });
        break;
      case 'sparse-attn':
        mixer = new SparseAttention({ dModel: c.dModel, heads: c.heads, headDim: c.headDim, causal: true, ...c.attention, seed });
        break;
    }
    this.mixer = this.child('attn', mixer);
    this.mlpNorm = this.child('mlp_norm', new RMSNorm(c.dModel, { eps: c.normEps }));
    this.mlp = this.child('mlp', new SwiGLU(c.dModel, c.mlpHidden, seed + 4));
  }

  /** x `[B, L, D]` (decode: `[B, D]`) → output of the same shape and the layer's next state. */
  run(x: Tensor, state: LayerState | undefined, decode: boolean, denseAttention = false): { output: Tensor; state: LayerState } {
    const normed = this.attnNorm.forward(x);
    let mixed: Tensor;
    let next: LayerState;
    if (this.mixer instanceof SparseAttention) {
      if (decode) {
        const r = this.attendStep(this.mixer, normed, state as KVCache | undefined);
        mixed = r.output;
        next = r.cache;
      } else {
        if (state !== undefined) throw new ValueError('initialState: an attention layer cannot continue a forward from a cache; use step');
        const mode = this.mixer.mode;
        if (denseAttention) this.mixer.mode = 'dense';
        try {
          mixed = this.mixer.forward(normed).output;
        } finally {
          this.mixer.mode = mode;
        }
        next = this.kvOf(this.mixer, normed);
      }
    } else {
      const opts = { initialState: state as never };
      const r = decode ? this.mixer.step(normed, opts) : this.mixer.forward(normed, opts);
      mixed = r.output;
      next = r.finalState as LayerState;
    }
    const h = tf.add(x, mixed);
    return { output: tf.add(h, this.mlp.forward(this.mlpNorm.forward(h))), state: next };
  }

  private heads(layer: SparseAttention, t: Tensor, b: number, l: number): Tensor {
    return tf.transpose(tf.reshape(t, [b, l, layer.heads, layer.headDim]), [0, 2, 1, 3]);
  }

  /** The keys and values of a whole prefix, trimmed to the window: the cache `step` continues from. */
  private kvOf(layer: SparseAttention, x: Tensor): KVCache {
    const [b, l] = x.shape as [number, number, number];
    const k = this.heads(layer, layer.kProj.forward(x), b, l);
    const v = this.heads(layer, layer.vProj.forward(x), b, l);
    return this.trim({ k, v });
  }

  private trim(c: KVCache): KVCache {
    const t = c.k.shape[2] as number;
    if (t <= this.context) return c;
    return {
      k: tf.slice(c.k, [0, 0, t - this.context, 0], [-1, -1, -1, -1]),
      v: tf.slice(c.v, [0, 0, t - this.context, 0], [-1, -1, -1, -1]),
    };
  }

  /**
   * One token through the attention layer with a KV cache: the new query attends (densely) to the cached keys and
   * its own. Equals the causal dense forward's row exactly; a layer trained in sparse mode decodes densely.
   */
  private attendStep(layer: SparseAttention, xt: Tensor, cache: KVCache | undefined): { output: Tensor; cache: KVCache } {
    const b = xt.shape[0] as number;
    const x = tf.expandDims(xt, 1);
    const q = this.heads(layer, layer.qProj.forward(x), b, 1);
    const kNew = this.heads(layer, layer.kProj.forward(x), b, 1);
    const vNew = this.heads(layer, layer.vProj.forward(x), b, 1);
    const next = this.trim(
      cache === undefined ? { k: kNew, v: vNew } : { k: tf.concat([cache.k, kNew], 2), v: tf.concat([cache.v, vNew], 2) },
    );
    const o = attention(q, next.k, next.v);
    const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, layer.heads * layer.headDim]);
    return { output: layer.oProj.forward(merged), cache: next };
  }
}

/**
 * A byte-level causal LM whose mixers come from @tessera/linear-rnn and @tessera/sparse-attention: embeddings,
 * pre-norm residual blocks (mixer + SwiGLU), final RMSNorm, tied or untied head. Parameter names follow fla
 * (`model.embeddings.weight`, `model.layers.{i}.{attn_norm,attn,mlp_norm,mlp}`, `model.norm`, `lm_head`).
 */
export class ByteLM extends Module {
  readonly config: Readonly<LMConfig>;
  readonly embeddings: Embedding;
  readonly blocks: Block[] = [];
  readonly norm: RMSNorm;
  readonly lmHead: Linear | undefined;

  constructor(config: LMConfig) {
    super();
    this.config = Object.freeze(checkLMConfig(structuredClone(config)));
    const c = this.config;
    const model = this.child('model', new Container());
    try {
      this.embeddings = model.add('embeddings', new Embedding(c.vocabSize, c.dModel, c.seed * 8 + 7));
      const layers = model.add('layers', new Container());
      for (let i = 0; i < c.layers.length; i++) {
        this.blocks.push(layers.add(String(i), new Block(c as LMConfig, i)));
      }
      this.norm = model.add('norm', new RMSNorm(c.dModel, { eps: c.normEps }));
      this.lmHead = c.tieEmbeddings ? undefined : this.child('lm_head', new Linear(c.dModel, c.vocabSize, { seed: c.seed * 8 + 5 }));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** `ids [B, L]` int32 → logits `[B, L, V]`. */
  forward(ids: Tensor): Tensor {
    this.checkIds(ids, ['B', 'L']);
    return tf.tidy(() => this.run(ids, undefined, false).logits);
  }

  /**
   * A whole prompt: `ids [B, L]` → `{ logits [B, L, V], state }`; continue with `step`. Caller owns both. Attention
   * layers run dense here, as in `step` (their KV-cache decode), so a prompt and its continuation see one model.
   */
  prefill(ids: Tensor): { logits: Tensor; state: LMState } {
    this.checkIds(ids, ['B', 'L']);
    return tidyState(() => this.run(ids, undefined, false, true));
  }

  /**
   * One token per sequence: `ids [B]` int32 (or a number for B = 1) and the last call's state (fresh when absent)
   * → `{ logits [B, V], state }`. Stepping through a sequence reproduces `forward` (attention layers: within the
   * `context` window, and dense). The passed state is not disposed; the caller owns the results.
   */
  step(ids: Tensor | number, state?: LMState): { logits: Tensor; state: LMState } {
    if (typeof ids === 'number') {
      checkRange(ids, { min: 0, max: this.config.vocabSize - 1, integer: true }, 'ids');
      return tidyState(() => this.step(tf.tensor1d([ids], 'int32'), state));
    }
    this.checkIds(ids, ['B']);
    if (state !== undefined && (!Array.isArray(state) || state.length !== this.blocks.length)) {
      throw new ValueError(
        `state: expected an array of ${this.blocks.length} layer states (a step's state), received ${describeValue(state)}`,
      );
    }
    return tidyState(() => {
      const r = this.run(tf.expandDims(ids, 1), state, true);
      return { logits: tf.squeeze(r.logits, [1]), state: r.state };
    });
  }

  private checkIds(ids: Tensor, spec: ('B' | 'L')[]): void {
    checkShape(ids, spec, 'ids');
    checkDtype(ids, 'int32', 'ids');
  }

  private run(ids: Tensor, state: LMState | undefined, decode: boolean, denseAttention = false): { logits: Tensor; state: LMState } {
    const [b, l] = ids.shape as [number, number];
    const d = this.config.dModel;
    let h = tf.reshape(tf.gather(this.embeddings.weight, tf.reshape(ids, [-1])), [b, l, d]);
    const next: LMState = [];
    this.blocks.forEach((block, i) => {
      const r = block.run(decode ? tf.squeeze(h, [1]) : h, state?.[i], decode, denseAttention);
      h = decode ? tf.expandDims(r.output, 1) : r.output;
      next.push(r.state);
    });
    const normed = this.norm.forward(h);
    const logits =
      this.lmHead === undefined
        ? tf.reshape(tf.matMul(tf.reshape(normed, [-1, d]), this.embeddings.weight, false, true), [b, l, this.config.vocabSize])
        : this.lmHead.forward(normed);
    return { logits, state: next };
  }
}

/** tf.tidy for results that hold a state (an array of records of tensors, which tfjs' TensorContainer type does not spell). */
export function tidyState<T>(fn: () => T): T {
  return tf.tidy(fn as () => never) as T;
}

/** Every tensor of a state, for disposal. */
export function stateTensors(state: LMState | undefined): Tensor[] {
  const out: Tensor[] = [];
  for (const s of state ?? []) out.push(...(Object.values(s) as Tensor[]));
  return out;
}

export const LM_FILES = { config: 'config.json', weights: 'model.safetensors' } as const;

/** Writes config.json and model.safetensors into `dir`, each atomically (tmp + rename). */
export async function saveLM(model: ByteLM, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveSafetensors(join(dir, LM_FILES.weights), model.stateDict(), { metadata: { format: 'tessera-byte-lm' } });
  await writeFileAtomic(join(dir, LM_FILES.config), jsonBytes(model.config));
}

/** A weights folder that is missing, unreadable or does not match its config. */
export class LMWeightsError extends TesseraError {}

/** Reads `dir`'s config.json and model.safetensors (as written by `saveLM`). */
export async function loadLM(dir: string): Promise<ByteLM> {
  let config: LMConfig;
  try {
    config = checkLMConfig(JSON.parse(await readFile(join(dir, LM_FILES.config), 'utf8')), LM_FILES.config);
  } catch (e) {
    throw new LMWeightsError(`lm: cannot read ${join(dir, LM_FILES.config)}: ${(e as Error).message.split('\n')[0]}`);
  }
  let weights: Record<string, Tensor>;
  try {
    weights = await loadSafetensors(join(dir, LM_FILES.weights));
  } catch (e) {
    throw new LMWeightsError(`lm: cannot read ${join(dir, LM_FILES.weights)}: ${(e as Error).message.split('\n')[0]}`);
  }
  const model = new ByteLM(config);
  try {
    model.loadStateDict(weights);
  } catch (e) {
    model.dispose();
    throw new LMWeightsError(`lm: ${join(dir, LM_FILES.weights)} does not match config.json: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    tf.dispose(Object.values(weights));
  }
  return model;
}

/** Pretty JSON as UTF-8 bytes (writeFileAtomic writes bytes). */
export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}
