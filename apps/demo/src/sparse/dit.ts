import { type AttentionMode, SparseAttention } from '@tessera/sparse-attention';
import {
  checkDtype,
  checkRange,
  checkShape,
  deviceZeros,
  describeValue,
  Module,
  philoxUniform,
  type Tensor,
  tf,
  ValueError,
  type Variable,
} from '@tessera/tensor-core';
import { tokenChannels, tokensPerClip, type VideoShape } from './video.js';

/** The model and data sizes: everything `config.json` stores to rebuild a DiT. */
export interface DitConfig extends VideoShape {
  /** Model width W. */
  width: number;
  /** Attention heads (head dimension W / heads). */
  heads: number;
  /** Transformer blocks. */
  depth: number;
  /** Hidden width of the MLP, as a multiple of W. */
  mlpRatio: number;
  /** SpargeAttention2's block sizes (tokens per query / key block). */
  bq: number;
  bk: number;
  /** Hybrid-mask top-k ratio and top-p mass (sparse mode). */
  topK: number;
  topP: number;
}

/** The study's model: F = 8 frames of 32 × 32 in 2 × 2 patches (L = 2048 tokens of 12), W = 128, 4 × 32 heads, 4 blocks. */
export const DIT_CONFIG: DitConfig = {
  frames: 8,
  size: 32,
  patch: 2,
  width: 128,
  heads: 4,
  depth: 4,
  mlpRatio: 4,
  bq: 128,
  bk: 64,
  topK: 0.03,
  topP: 0.2,
};

/** The pipeline's smoke-test size (tests, `--tiny`): F = 2 frames of 16 × 16 (L = 128), W = 32, 2 blocks. */
export const TINY_DIT_CONFIG: DitConfig = {
  frames: 2,
  size: 16,
  patch: 2,
  width: 32,
  heads: 2,
  depth: 2,
  mlpRatio: 4,
  bq: 32,
  bk: 16,
  topK: 0.125,
  topP: 0.3,
};

const CONFIG_KEYS = ['frames', 'size', 'patch', 'width', 'heads', 'depth', 'mlpRatio', 'bq', 'bk', 'topK', 'topP'] as const;

/** Checks a config (e.g. read from config.json) and returns a clean copy. */
export function checkDitConfig(config: unknown, name = 'config'): DitConfig {
  if (typeof config !== 'object' || config === null)
    throw new ValueError(`${name}: expected a DiT config object, received ${describeValue(config)}`);
  const c = config as Record<string, unknown>;
  const unknown = Object.keys(c).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new ValueError(`${name}: unknown key ${JSON.stringify(unknown[0])} (known: ${CONFIG_KEYS.join(', ')})`);
  const int = (key: string, max: number) => checkRange(c[key] as number, { min: 1, max, integer: true }, `${name}.${key}`);
  const out: DitConfig = {
    frames: int('frames', 64),
    size: int('size', 256),
    patch: int('patch', 16),
    width: int('width', 4096),
    heads: int('heads', 64),
    depth: int('depth', 64),
    mlpRatio: int('mlpRatio', 16),
    bq: int('bq', 4096),
    bk: int('bk', 4096),
    topK: checkRange(c.topK as number, { min: 0, max: 1, minExclusive: true }, `${name}.topK`),
    topP: checkRange(c.topP as number, { min: 0, max: 1, minExclusive: true }, `${name}.topP`),
  };
  if (out.size % out.patch !== 0) throw new ValueError(`${name}.size: expected a multiple of patch = ${out.patch}, received ${out.size}`);
  if (out.width % out.heads !== 0) throw new ValueError(`${name}.heads: expected a divisor of width = ${out.width}, received ${out.heads}`);
  if (out.width % 16 !== 0)
    throw new ValueError(`${name}.width: expected a multiple of 16 (3-D position embedding), received ${out.width}`);
  return out;
}

/** `[..., in] → [..., out]` with bias; weight `[out, in]` (PyTorch's layout), U(±1/√in) or zeros. */
class Dense extends Module {
  readonly weight: Variable;
  readonly bias: Variable;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    seed: number,
    zero = false,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param(
      'weight',
      zero ? tf.zeros([outFeatures, inFeatures]) : philoxUniform([outFeatures, inFeatures], { seed, low: -bound, high: bound }),
    );
    this.bias = this.param('bias', tf.zeros([outFeatures]));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const y = tf.add(tf.matMul(tf.reshape(x, [-1, this.inFeatures]), this.weight, false, true), this.bias);
      return tf.reshape(y, [...lead, this.outFeatures]);
    });
  }
}

/** GELU, tanh approximation (Hendrycks & Gimpel 2016), as DiT's MLP uses. */
function gelu(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(x, tf.add(0.7978845608, tf.mul(tf.square(x), 0.0356774081)))))));
}

/** LayerNorm over the last axis without affine parameters (adaLN supplies scale and shift). */
function layerNorm(x: Tensor): Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6)));
  });
}

/** `x [B, L, W]`, shift and scale `[B, W]`: x·(1 + scale) + shift per sample (DiT's `modulate`). */
function modulate(x: Tensor, shift: Tensor, scale: Tensor): Tensor {
  return tf.tidy(() => tf.add(tf.mul(x, tf.add(tf.expandDims(scale, 1), 1)), tf.expandDims(shift, 1)));
}

/** Sinusoidal features of `positions` (host numbers) in `dim` channels: [cos(p·ω_i), sin(p·ω_i)], ω_i = 10000^(−i/(dim/2)). */
function sinusoid(positions: ArrayLike<number>, dim: number, out: Float32Array, stride: number, offset: number): void {
  const half = dim / 2;
  for (let n = 0; n < positions.length; n++) {
    const p = positions[n] as number;
    for (let i = 0; i < half; i++) {
      const w = Math.exp((-Math.log(10000) * i) / half);
      out[n * stride + offset + i] = Math.cos(p * w);
      out[n * stride + offset + half + i] = Math.sin(p * w);
    }
  }
}

/**
 * Fixed 3-D sinusoidal position embedding `[L, W]` for tokens ordered frame-major then raster: W/4
 * channels for the frame index, 3W/8 each for row and column (each axis its own 1-D table, concatenated).
 */
export function positionEmbedding(config: DitConfig): Float32Array {
  const g = config.size / config.patch;
  const l = tokensPerClip(config);
  const dRow = (3 * config.width) / 8;
  const dFrame = config.width - 2 * dRow;
  const frame = new Float32Array(l);
  const row = new Float32Array(l);
  const col = new Float32Array(l);
  for (let n = 0; n < l; n++) {
    frame[n] = Math.floor(n / (g * g));
    row[n] = Math.floor(n / g) % g;
    col[n] = n % g;
  }
  const out = new Float32Array(l * config.width);
  sinusoid(frame, dFrame, out, config.width, 0);
  sinusoid(row, dRow, out, config.width, dFrame);
  sinusoid(col, dRow, out, config.width, dFrame + dRow);
  return out;
}

/** Timestep features `[B, W]` of `t [B]` in [0, 1]: sinusoid of 1000·t (DiT's TimestepEmbedder input). */
function timeFeatures(t: Tensor, dim: number): Tensor {
  return tf.tidy(() => {
    const half = dim / 2;
    const freqs = tf.exp(tf.mul(tf.range(0, half, 1, 'float32'), -Math.log(10000) / half));
    const args = tf.mul(tf.expandDims(tf.mul(t, 1000), 1), tf.expandDims(freqs, 0));
    return tf.concat([tf.cos(args), tf.sin(args)], 1);
  });
}

/** One DiT block: adaLN-Zero (shift, scale, gate from the time embedding) around attention and a GELU MLP. */
class DitBlock extends Module {
  readonly attn: SparseAttention;
  readonly fc1: Dense;
  readonly fc2: Dense;
  readonly ada: Dense;

  constructor(config: DitConfig, mode: AttentionMode, seed: number) {
    super();
    const w = config.width;
    this.attn = this.child(
      'attn',
      new SparseAttention({
        dModel: w,
        heads: config.heads,
        mode,
        bq: config.bq,
        bk: config.bk,
        topK: config.topK,
        topP: config.topP,
        seed,
      }),
    );
    this.fc1 = this.child('fc1', new Dense(w, config.mlpRatio * w, seed + 4));
    this.fc2 = this.child('fc2', new Dense(config.mlpRatio * w, w, seed + 5));
    // zero: each block starts as the identity (DiT's adaLN-Zero)
    this.ada = this.child('ada', new Dense(w, 6 * w, seed + 6, true));
  }

  /** The attention's input for conditioning `c [B, W]`: LN(x)·(1 + scale) + shift. */
  attentionInput(x: Tensor, mod: Tensor[]): Tensor {
    return modulate(layerNorm(x), mod[0] as Tensor, mod[1] as Tensor);
  }

  modulation(siluC: Tensor): Tensor[] {
    return tf.split(this.ada.forward(siluC), 6, 1);
  }

  forward(x: Tensor, siluC: Tensor): { output: Tensor; sparsity: Tensor } {
    return tf.tidy(() => {
      const mod = this.modulation(siluC);
      const [, , gateA, shiftM, scaleM, gateM] = mod as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
      const a = this.attn.forward(this.attentionInput(x, mod));
      const h = tf.add(x, tf.mul(tf.expandDims(gateA, 1), a.output));
      const m = this.fc2.forward(gelu(this.fc1.forward(modulate(layerNorm(h), shiftM, scaleM))));
      return { output: tf.add(h, tf.mul(tf.expandDims(gateM, 1), m)), sparsity: a.sparsity };
    });
  }
}

/** The velocity of a flow-matching model: `u(x_t, t)`, and the attention sparsity it ran at. */
export type VelocityResult = {
  /** `[B, L, C]`. */
  velocity: Tensor;
  /** Scalar: the mean block-mask sparsity over the blocks' attention layers (0 in dense mode). */
  sparsity: Tensor;
};

/**
 * A small flow-matching diffusion transformer over space-time patch tokens (Peebles & Xie 2023, DiT,
 * with adaLN-Zero): patch embedding Linear(C → W) + fixed 3-D sinusoidal positions, time embedding
 * (sinusoid → Linear → SiLU → Linear), `depth` blocks of SparseAttention + 4× GELU MLP, final adaLN +
 * Linear(W → C), zero-initialised. `mode` switches every attention layer between dense (the teacher)
 * and SpargeAttention2's hybrid-mask sparse attention (the students) without touching the weights.
 */
export class DiT extends Module {
  readonly config: DitConfig;
  readonly tokens: number;
  readonly channels: number;
  readonly embed: Dense;
  readonly time1: Dense;
  readonly time2: Dense;
  readonly blocks: DitBlock[];
  readonly finalAda: Dense;
  readonly head: Dense;
  readonly #pos: Tensor;
  #mode: AttentionMode;

  constructor(config: DitConfig, opts: { mode?: AttentionMode; seed?: number } = {}) {
    super();
    this.config = checkDitConfig(config);
    const seed = checkRange(opts.seed ?? 0, { min: 0, max: 2 ** 40, integer: true }, 'opts.seed');
    this.#mode = opts.mode ?? 'dense';
    const w = this.config.width;
    this.tokens = tokensPerClip(this.config);
    this.channels = tokenChannels(this.config);
    this.embed = this.child('embed', new Dense(this.channels, w, seed));
    this.time1 = this.child('time1', new Dense(w, w, seed + 1));
    this.time2 = this.child('time2', new Dense(w, w, seed + 2));
    this.blocks = Array.from({ length: this.config.depth }, (_, i) =>
      this.child(`blocks_${i}`, new DitBlock(this.config, this.#mode, seed + 16 * (i + 1))),
    );
    this.finalAda = this.child('final_ada', new Dense(w, 2 * w, seed + 3, true));
    this.head = this.child('head', new Dense(w, this.channels, seed + 4, true));
    this.#pos = tf.tensor(positionEmbedding(this.config), [this.tokens, w], 'float32');
  }

  get mode(): AttentionMode {
    return this.#mode;
  }

  set mode(mode: AttentionMode) {
    for (const b of this.blocks) b.attn.mode = mode;
    this.#mode = mode;
  }

  #check(xt: Tensor, t: Tensor): number {
    checkShape(xt, [null, this.tokens, this.channels], 'xt');
    checkDtype(xt, 'float32', 'xt');
    const b = xt.shape[0] as number;
    checkShape(t, [b], 't');
    checkDtype(t, 'float32', 't');
    return b;
  }

  /** `xt [B, L, C]` tokens at times `t [B]` in [0, 1] → `{ velocity [B, L, C], sparsity }`. */
  velocity(xt: Tensor, t: Tensor): VelocityResult {
    this.#check(xt, t);
    return tf.tidy(() => {
      const c = this.time2.forward(silu(this.time1.forward(timeFeatures(t, this.config.width))));
      const siluC = silu(c);
      let x = tf.add(this.embed.forward(xt), this.#pos);
      const sparsities: Tensor[] = [];
      for (const block of this.blocks) {
        const r = block.forward(x, siluC);
        x = r.output;
        sparsities.push(r.sparsity);
      }
      const [shift, scale] = tf.split(this.finalAda.forward(siluC), 2, 1) as [Tensor, Tensor];
      const velocity = this.head.forward(modulate(layerNorm(x), shift, scale));
      const sparsity = this.#mode === 'dense' ? deviceZeros([]) : tf.div(tf.addN(sparsities), sparsities.length);
      return { velocity, sparsity };
    });
  }

  /**
   * What block `layer`'s attention receives for `xt` at `t`: `[B, L, W]` (for timing the attention
   * alone on real activations, and for its block-mask heatmap).
   */
  attentionInput(xt: Tensor, t: Tensor, layer: number): Tensor {
    this.#check(xt, t);
    checkRange(layer, { min: 0, max: this.config.depth - 1, integer: true }, 'layer');
    return tf.tidy(() => {
      const siluC = silu(this.time2.forward(silu(this.time1.forward(timeFeatures(t, this.config.width)))));
      let x = tf.add(this.embed.forward(xt), this.#pos);
      for (let i = 0; i < layer; i++) x = (this.blocks[i] as DitBlock).forward(x, siluC).output;
      const block = this.blocks[layer] as DitBlock;
      return block.attentionInput(x, block.modulation(siluC));
    });
  }

  override dispose(): void {
    this.#pos.dispose();
    super.dispose();
  }
}

function silu(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
