import {
  checkDtype,
  checkOptions,
  checkRange,
  checkShape,
  describeValue,
  LayerNorm,
  Linear,
  Module,
  RMSNorm,
  type Tensor,
  tf,
  ValueError,
} from '@tessera/tensor-core';
import { Mamba3 } from '../layers/mamba3.js';
import type { Mamba3State } from '../mamba3/types.js';
import { Container, Embedding } from './causal-lm.js';
import { type ParsedMambaConfig, parseMambaConfig } from './mamba-config.js';

/** The decoding state of a `MambaLM`: one Mamba-3 layer state per block, in order. */
export type MambaLMState = Mamba3State[];

/** What `MambaLM.step` returns. */
export interface MambaLMStepResult {
  /** `[B, V]` (V the padded vocabulary, as mamba_ssm's lm_head). */
  logits: Tensor;
  /** Pass it back as the next call's state. */
  state: MambaLMState;
}

/** Options of `new MambaLM(config, opts)`. */
export interface MambaLMOptions {
  /** Philox seed of the random initialisation. Default 0. */
  seed?: number;
  /** Chunk length of the chunked op in `forward`, 1 … 256. Default 64. */
  chunkSize?: number;
}

const LM_OPTIONS = ['seed', 'chunkSize'] as const satisfies readonly (keyof MambaLMOptions)[];

type Norm = RMSNorm | LayerNorm;

/** tf.tidy for results holding `Mamba3State` objects (an interface, which tfjs' TensorContainer type does not admit). */
function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

function makeNorm(p: ParsedMambaConfig): Norm {
  // MixerModel never passes norm_epsilon, so mamba_ssm's LMs always use 1e-5
  return p.rmsNorm ? new RMSNorm(p.dModel, { eps: 1e-5 }) : new LayerNorm(p.dModel, { eps: 1e-5 });
}

/** mamba_ssm's `GatedMLP` (modules/mlp.py): fc2(y · SiLU(gate)) with [y, gate] = fc1(x).chunk(2). */
class MambaMLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly hidden: number;
  constructor(dim: number, hidden: number, seed: number) {
    super();
    this.hidden = hidden;
    this.fc1 = this.child('fc1', new Linear(dim, 2 * hidden, { seed }));
    this.fc2 = this.child('fc2', new Linear(hidden, dim, { seed: seed + 1 }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [y, gate] = tf.split(this.fc1.forward(x), 2, -1) as [Tensor, Tensor];
      return this.fc2.forward(tf.mul(y, tf.mul(gate, tf.sigmoid(gate))));
    });
  }
}

/**
 * mamba_ssm's `Block` (modules/block.py). Its add-then-norm order (residual = h + residual; h = norm(residual);
 * h = mixer(h)) is the pre-norm residual stream x ← x + mixer(norm(x)) written another way; computed here in
 * that form, in float32 (what residual_in_fp32 keeps).
 */
class MambaBlock extends Module {
  readonly norm: Norm;
  readonly mixer: Mamba3;
  readonly norm2: Norm | undefined;
  readonly mlp: MambaMLP | undefined;
  constructor(p: ParsedMambaConfig, index: number, opts: { seed: number; chunkSize: number | undefined }) {
    super();
    const seed = opts.seed * 64 + index;
    this.norm = this.child('norm', makeNorm(p));
    this.mixer = this.child(
      'mixer',
      new Mamba3({ ...p.mixer, seed, ...(opts.chunkSize === undefined ? {} : { chunkSize: opts.chunkSize }) }),
    );
    if (p.dIntermediate > 0) {
      this.norm2 = this.child('norm2', makeNorm(p));
      this.mlp = this.child('mlp', new MambaMLP(p.dModel, p.dIntermediate, seed * 4 + 1_000_003));
    }
  }
  run(x: Tensor, state: Mamba3State | undefined, decode: boolean): { output: Tensor; state: Mamba3State } {
    const normed = this.norm.forward(x);
    const r = decode ? this.mixer.step(normed, { initialState: state }) : this.mixer.forward(normed, { initialState: state });
    let h = tf.add(x, r.output);
    if (this.mlp && this.norm2) h = tf.add(h, this.mlp.forward(this.norm2.forward(h)));
    return { output: h, state: r.finalState };
  }
}

/**
 * mamba_ssm's `MambaLMHeadModel` with Mamba-3 mixers (mamba_ssm/models/mixer_seq_simple.py) by its parameter
 * names: `backbone.embedding.weight`, `backbone.layers.{i}.norm`, `backbone.layers.{i}.mixer.*` (see `Mamba3`),
 * with d_intermediate > 0 `backbone.layers.{i}.norm2` and `.mlp.fc{1,2}`, `backbone.norm_f`, `lm_head.weight`
 * (tied to the embedding unless tie_embeddings is false). `config` is the MambaConfig object (config.json).
 * `forward(ids [B, L] int32) → logits [B, L, V]`; `step(ids [B] int32 | number, state?) → { logits, state }`.
 * V is vocab_size padded to pad_vocab_size_multiple, as in mamba_ssm.
 */
export class MambaLM extends Module {
  /** The config with every MambaConfig default filled in; `saveCheckpoint` writes it as config.json. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly vocabSize: number;
  readonly dModel: number;
  readonly numLayers: number;
  readonly embedding: Embedding;
  readonly blocks: MambaBlock[];
  readonly normF: Norm;
  readonly lmHead: Linear | undefined;

  constructor(config: Record<string, unknown>, opts?: MambaLMOptions) {
    super();
    const parsed = parseMambaConfig(config);
    const o = checkOptions(opts, LM_OPTIONS);
    const seed = checkRange(o.seed ?? 0, { min: 0, max: 2 ** 32, integer: true }, 'opts.seed');
    if (o.chunkSize !== undefined) checkRange(o.chunkSize, { min: 1, max: 256, integer: true }, 'opts.chunkSize');
    this.config = Object.freeze(parsed.json);
    this.vocabSize = parsed.vocabSize;
    this.dModel = parsed.dModel;
    this.numLayers = parsed.numLayers;
    const backbone = this.child('backbone', new Container());
    try {
      this.embedding = backbone.add('embedding', new Embedding(parsed.vocabSize, parsed.dModel, 0.02, seed * 8 + 7));
      const layers = backbone.add('layers', new Container());
      this.blocks = [];
      for (let i = 0; i < parsed.numLayers; i++) {
        this.blocks.push(layers.add(String(i), new MambaBlock(parsed, i, { seed, chunkSize: o.chunkSize })));
      }
      this.normF = backbone.add('norm_f', makeNorm(parsed));
      this.lmHead = parsed.tieEmbeddings
        ? undefined
        : this.child('lm_head', new Linear(parsed.dModel, parsed.vocabSize, { seed: seed * 8 + 5 }));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** `ids: [B, L]` int32 → logits `[B, L, V]`. With `initialState`, continues a sequence (the state is not returned). */
  forward(ids: Tensor, opts?: { initialState?: MambaLMState }): Tensor {
    const o = checkOptions(opts, ['initialState'] as const);
    this.checkIds(ids, ['B', 'L']);
    this.checkState(o.initialState);
    return tf.tidy(() => this.run(ids, o.initialState, false).logits);
  }

  /** The logits and the state after a whole prompt: `ids: [B, L]` → `{ logits: [B, L, V], state }`. */
  prefill(ids: Tensor, state?: MambaLMState): { logits: Tensor; state: MambaLMState } {
    this.checkIds(ids, ['B', 'L']);
    this.checkState(state);
    return tidy(() => this.run(ids, state, false));
  }

  /**
   * One token per sequence: `ids: [B]` int32 (a plain number for B = 1), `state` from the last call (zeros when
   * absent) → `{ logits: [B, V], state }`; stepping through a sequence reproduces `forward`. The caller owns both
   * results; the passed state is not disposed.
   */
  step(ids: Tensor | number, state?: MambaLMState): MambaLMStepResult {
    if (typeof ids === 'number') {
      checkRange(ids, { min: 0, max: this.vocabSize - 1, integer: true }, 'ids');
      return tidy(() => this.step(tf.tensor1d([ids], 'int32'), state));
    }
    this.checkIds(ids, ['B']);
    this.checkState(state);
    return tidy(() => {
      const r = this.run(tf.expandDims(ids, 1), state, true);
      return { logits: tf.squeeze(r.logits, [1]), state: r.state };
    });
  }

  /** A zero state for `batch` sequences. */
  zeroState(batch: number): MambaLMState {
    return this.blocks.map((b) => b.mixer.zeroState(batch));
  }

  private checkIds(ids: Tensor, spec: ('B' | 'L')[]): void {
    checkShape(ids, spec, 'ids');
    checkDtype(ids, 'int32', 'ids');
  }

  private checkState(state: MambaLMState | undefined): void {
    if (state === undefined) return;
    if (!Array.isArray(state) || state.length !== this.blocks.length) {
      throw new ValueError(
        `state: expected an array of ${this.blocks.length} layer states (a step's state), received ${describeValue(state)}`,
      );
    }
  }

  private run(ids: Tensor, state: MambaLMState | undefined, decode: boolean): { logits: Tensor; state: MambaLMState } {
    const [b, l] = ids.shape as [number, number];
    let h = tf.reshape(tf.gather(this.embedding.weight, tf.reshape(ids, [-1])), [b, l, this.dModel]);
    const next: MambaLMState = [];
    this.blocks.forEach((block, i) => {
      const r = block.run(decode ? tf.squeeze(h, [1]) : h, state?.[i], decode);
      h = decode ? tf.expandDims(r.output, 1) : r.output;
      next.push(r.state);
    });
    const normed = this.normF.forward(h);
    const logits =
      this.lmHead === undefined
        ? tf.reshape(tf.matMul(tf.reshape(normed, [-1, this.dModel]), this.embedding.weight, false, true), [b, l, this.vocabSize])
        : this.lmHead.forward(normed);
    return { logits, state: next };
  }
}
