import {
  checkDtype,
  checkOptions,
  checkRange,
  checkShape,
  describeValue,
  Linear,
  Module,
  philoxNormal,
  RMSNorm,
  type Tensor,
  tf,
  ValueError,
  type Variable,
} from '@tessera/tensor-core';
import type { DeltaLayerState, DeltaRuleLayer } from '../layers/delta-net.js';
import { DeltaNet } from '../layers/delta-net.js';
import { GatedDeltaNet } from '../layers/gated-delta-net.js';
import { type ParsedFlaConfig, parseFlaConfig } from './fla-config.js';

/** The decoding state of a causal LM: one delta-rule layer state per block, in order. */
export type CausalLMState = DeltaLayerState[];

/** What `step` returns. */
export type CausalLMStepResult = {
  /** `[B, V]`: the next-token logits. */
  logits: Tensor;
  /** Pass it back as the next call's state. */
  state: CausalLMState;
};

/** Options of `new FlaCausalLM(config, opts)`. */
export interface FlaCausalLMOptions {
  /** Philox seed of the random initialisation (normal, std config.initializer_range, as fla). Default 0. */
  seed?: number;
  /** Chunk length of the chunked ops in `forward`, 1 … 256. Default 64. */
  chunkSize?: number;
}

const LM_OPTIONS = ['seed', 'chunkSize'] as const satisfies readonly (keyof FlaCausalLMOptions)[];

/** A module that only groups children (fla's `nn.ModuleList` and the `model` wrapper): `layers.0`, `layers.1`, …. */
export class Container extends Module {
  add<M extends Module>(name: string, module: M): M {
    return this.child(name, module);
  }
}

/** `nn.Embedding`: a `[V, D]` table named `weight`. */
export class Embedding extends Module {
  readonly weight: Variable;
  constructor(vocab: number, dim: number, std: number, seed: number) {
    super();
    this.weight = this.param('weight', philoxNormal([vocab, dim], { seed, mean: 0, std }));
  }
}

/** fla's `GatedMLP` with hidden_act 'swish': down(SiLU(gate(x)) · up(x)). */
class GatedMLP extends Module {
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
  constructor(hidden: number, intermediate: number, seed: number) {
    super();
    this.gate = this.child('gate_proj', new Linear(hidden, intermediate, { seed }));
    this.up = this.child('up_proj', new Linear(hidden, intermediate, { seed: seed + 1 }));
    this.down = this.child('down_proj', new Linear(intermediate, hidden, { seed: seed + 2 }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const g = this.gate.forward(x);
      return this.down.forward(tf.mul(tf.mul(g, tf.sigmoid(g)), this.up.forward(x)));
    });
  }
}

/** fla's `{DeltaNet,GatedDeltaNet}Block`: x + attn(attn_norm(x)), then h + mlp(mlp_norm(h)). */
class Block extends Module {
  readonly attnNorm: RMSNorm;
  readonly attn: DeltaRuleLayer;
  readonly mlpNorm: RMSNorm;
  readonly mlp: GatedMLP;
  constructor(p: ParsedFlaConfig, index: number, opts: { seed: number; chunkSize: number | undefined }) {
    super();
    const seed = opts.seed * 64 + index;
    this.attnNorm = this.child('attn_norm', new RMSNorm(p.hiddenSize, { eps: p.normEps }));
    const layerOpts = { ...p.layer, seed, chunkSize: opts.chunkSize };
    this.attn = this.child('attn', p.modelType === 'delta_net' ? new DeltaNet(layerOpts) : new GatedDeltaNet(layerOpts));
    this.mlpNorm = this.child('mlp_norm', new RMSNorm(p.hiddenSize, { eps: p.normEps }));
    this.mlp = this.child('mlp', new GatedMLP(p.hiddenSize, p.intermediateSize, seed * 4 + 1_000_003));
  }
  run(x: Tensor, state: DeltaLayerState | undefined, decode: boolean): { output: Tensor; state: DeltaLayerState } {
    const normed = this.attnNorm.forward(x);
    const r = decode ? this.attn.step(normed, { initialState: state }) : this.attn.forward(normed, { initialState: state });
    const h = tf.add(x, r.output);
    return { output: tf.add(h, this.mlp.forward(this.mlpNorm.forward(h))), state: r.finalState };
  }
}

/**
 * fla's `DeltaNetForCausalLM` / `GatedDeltaNetForCausalLM` (fla/models/*\/modeling_*.py) by fla's parameter names:
 * `model.embeddings.weight`, `model.layers.{i}.{attn_norm,attn,mlp_norm,mlp.{gate,up,down}_proj}`, `model.norm`,
 * `lm_head` (absent with tie_word_embeddings: the embedding table is the output projection). `config` is fla's
 * `config.json` object. `forward(ids [B, L] int32) → logits [B, L, V]`; `step(ids [B] int32, state?) → { logits, state }`.
 */
export class FlaCausalLM extends Module {
  /** The config as fla writes it (every default filled in); `saveCheckpoint` writes it as config.json. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly modelType: ParsedFlaConfig['modelType'];
  readonly embeddings: Embedding;
  readonly blocks: Block[];
  readonly norm: RMSNorm;
  readonly lmHead: Linear | undefined;

  constructor(config: Record<string, unknown>, opts?: FlaCausalLMOptions) {
    super();
    const parsed = parseFlaConfig(config);
    const o = checkOptions(opts, LM_OPTIONS);
    const seed = checkRange(o.seed ?? 0, { min: 0, max: 2 ** 32, integer: true }, 'opts.seed');
    if (o.chunkSize !== undefined) checkRange(o.chunkSize, { min: 1, max: 256, integer: true }, 'opts.chunkSize');
    this.config = Object.freeze(parsed.json);
    this.vocabSize = parsed.vocabSize;
    this.hiddenSize = parsed.hiddenSize;
    this.numLayers = parsed.numLayers;
    this.modelType = parsed.modelType;
    const std = typeof parsed.json.initializer_range === 'number' ? parsed.json.initializer_range : 0.02;
    const model = this.child('model', new Container());
    // built inside try: a failure part-way disposes what exists (a module owns its children's variables)
    try {
      this.embeddings = model.add('embeddings', new Embedding(parsed.vocabSize, parsed.hiddenSize, std, seed * 8 + 7));
      const layers = model.add('layers', new Container());
      this.blocks = [];
      for (let i = 0; i < parsed.numLayers; i++) {
        this.blocks.push(layers.add(String(i), new Block(parsed, i, { seed, chunkSize: o.chunkSize })));
      }
      this.norm = model.add('norm', new RMSNorm(parsed.hiddenSize, { eps: parsed.normEps }));
      this.lmHead = parsed.tieWordEmbeddings
        ? undefined
        : this.child('lm_head', new Linear(parsed.hiddenSize, parsed.vocabSize, { seed: seed * 8 + 5 }));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** `ids: [B, L]` int32 token ids → logits `[B, L, V]`. With `initialState`, continues a sequence (the state is not returned). */
  forward(ids: Tensor, opts?: { initialState?: CausalLMState }): Tensor {
    const o = checkOptions(opts, ['initialState'] as const);
    this.checkIds(ids, ['B', 'L'], 'ids');
    this.checkState(o.initialState);
    return tf.tidy(() => this.run(ids, o.initialState, false).logits);
  }

  /**
   * The logits and the state after a whole prompt: `ids: [B, L]` → `{ logits: [B, L, V], state }`; pass the state
   * to `step` to continue decoding.
   */
  prefill(ids: Tensor, state?: CausalLMState): { logits: Tensor; state: CausalLMState } {
    this.checkIds(ids, ['B', 'L'], 'ids');
    this.checkState(state);
    return tf.tidy(() => this.run(ids, state, false));
  }

  /**
   * One token per sequence: `ids: [B]` int32 (a plain number for B = 1), `state` from the last call (zeros when
   * absent) → `{ logits: [B, V], state }`; stepping through a sequence reproduces `forward`. The caller owns (and
   * disposes) both the logits and the returned state; the passed state is not disposed.
   */
  step(ids: Tensor | number, state?: CausalLMState): CausalLMStepResult {
    if (typeof ids === 'number') {
      checkRange(ids, { min: 0, max: this.vocabSize - 1, integer: true }, 'ids');
      return tf.tidy(() => this.step(tf.tensor1d([ids], 'int32'), state));
    }
    this.checkIds(ids, ['B'], 'ids');
    this.checkState(state);
    return tf.tidy(() => {
      const r = this.run(tf.expandDims(ids, 1), state, true);
      return { logits: tf.squeeze(r.logits, [1]), state: r.state };
    });
  }

  /** A zero state for `batch` sequences. */
  zeroState(batch: number): CausalLMState {
    return this.blocks.map((b) => b.attn.zeroState(batch));
  }

  private checkIds(ids: Tensor, spec: ('B' | 'L')[], name: string): void {
    checkShape(ids, spec, name);
    checkDtype(ids, 'int32', name);
  }

  private checkState(state: CausalLMState | undefined): void {
    if (state === undefined) return;
    if (!Array.isArray(state) || state.length !== this.blocks.length) {
      throw new ValueError(
        `state: expected an array of ${this.blocks.length} layer states (a step's state), received ${describeValue(state)}`,
      );
    }
  }

  private run(ids: Tensor, state: CausalLMState | undefined, decode: boolean): { logits: Tensor; state: CausalLMState } {
    const [b, l] = ids.shape as [number, number];
    let h = tf.reshape(tf.gather(this.embeddings.weight, tf.reshape(ids, [-1])), [b, l, this.hiddenSize]);
    const next: CausalLMState = [];
    this.blocks.forEach((block, i) => {
      const x = decode ? tf.squeeze(h, [1]) : h;
      const r = block.run(x, state?.[i], decode);
      h = decode ? tf.expandDims(r.output, 1) : r.output;
      next.push(r.state);
    });
    const normed = this.norm.forward(h);
    const logits =
      this.lmHead === undefined
        ? tf.reshape(tf.matMul(tf.reshape(normed, [-1, this.hiddenSize]), this.embeddings.weight, false, true), [b, l, this.vocabSize])
        : this.lmHead.forward(normed);
    return { logits, state: next };
  }
}
