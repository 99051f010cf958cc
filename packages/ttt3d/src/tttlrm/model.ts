import {
  checkOptions,
  describeValue,
  FormatError,
  LayerNorm,
  type Linear,
  loadSafetensors,
  Module,
  saveSafetensors,
  type Tensor,
  TesseraError,
  tf,
  ValueError,
  writeFileAtomic,
} from '@tessera/tensor-core';
import type { Camera } from '../camera/index.js';
import type { Gaussians } from '../gaussians/index.js';
import type { FastWeights } from '../lact/index.js';
import { LaCTBlock } from '../lact-block/index.js';
import { linear, ModuleList } from '../lact-block/layers.js';
import { checkConfigMatch, gaussianChannels, resolveConfig, type TTTLRMConfig } from './config.js';
import { decodeGaussians } from './decode.js';
import { TOKEN_CHANNELS, viewTokens, cameraRays } from './tokens.js';
import { checkCameras, checkMinOpacity, checkViews, checkVirtualCount } from './validate.js';
import { representativeCameras } from './virtual-views.js';

/** Options of `TTTLRM.forward`. */
export interface TTTLRMForwardOptions {
  /** Cameras whose pixels become Gaussians (query-only tokens); default the input cameras, as the authors do. */
  virtualViews?: readonly Camera[];
  /**
   * Decode from this many of the input cameras (`representativeCameras`: K-means over centre and viewing direction,
   * as tttLRM's loader picks fewer virtual than input views), their images in the colour channels of a
   * `virtualColour` model; default `config.maxVirtualViews` of them (0: all). Not with `virtualViews`. Fewer virtual
   * views mean fewer stacked layers of pixel-aligned Gaussians: with the step-1844 weights decoding every view,
   * 16.4 dB at 64 input views against 17.3 at 32; 32 of the 64 gave 17.9 dB (README, tttLRM).
   */
  virtualCount?: number;
}

/** Options of `TTTLRM.reconstruct` and of a stream's `gaussians`. */
export interface TTTLRMReconstructOptions extends TTTLRMForwardOptions {
  /** Gaussians with opacity below this are pruned (tttLRM's `usage_threshold`, 0.01); 0 keeps all. In [0, 1). Default 0.01. */
  minOpacity?: number;
}

/** Options of `TTTLRM.load`. */
export interface TTTLRMLoadOptions {
  /** The config the caller expects; any field that differs from the stored one is a `TesseraError`. */
  config?: Partial<TTTLRMConfig>;
}

const FORWARD_OPTIONS = ['virtualViews', 'virtualCount'] as const;
const RECONSTRUCT_OPTIONS = ['virtualViews', 'virtualCount', 'minOpacity'] as const;
const LOAD_OPTIONS = ['config'] as const;

/** `nn.Sequential` slots named by index, so parameter paths read `tokenizer.1.weight`, `decoder.0.weight`. */
class Indexed extends Module {
  constructor(slots: Record<number, Module>) {
    super();
    for (const [i, m] of Object.entries(slots)) this.child(i, m);
  }
}

/** File names inside a weights directory. */
export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

/**
 * tttLRM (papers/ttt3d.md §2; cwchenwang/tttLRM model/model.py): posed views → 3D Gaussians in one pass through
 * LaCT blocks whose fast weights hold the scene.
 *
 * Input views (RGB·2 − 1 ⊕ 9-channel Plücker rays (o, d, o × d) per pixel) → p×p patches → `tokenizer.1` (linear,
 * no bias) → `input_layernorm` → `depth` `LaCTBlock`s, each writing its fast weights with the input tokens
 * ('update-then-apply'). Virtual views (default: the input cameras) enter as query-only tokens with ray channels and
 * zero colour — or, with `config.virtualColour` and the default virtual views, the input images as tttLRM's loader
 * does; they only read the fast weights, block by block. Each virtual token goes through `decoder`
 * (LayerNorm + linear, no bias) to (3 + 3(d+1)² + 3 + 4 + 1) channels per pixel of its patch: one Gaussian per pixel
 * (`decodeGaussians` gives the activations). Parameter paths are the authors' (`tokenizer.1.weight`,
 * `input_layernorm.weight`, `blocks.3.module_list.1.f.w0`, `decoder.1.weight`).
 *
 * Input and virtual tokens interact only through the fast weights (attention stays inside a view), so running the
 * input views through all blocks first and the virtual views afterwards, with each block's written weights, is the
 * same computation as the authors' joint sequence: `reconstruct` = one `stream()` push + decode.
 */
export class TTTLRM extends Module {
  readonly config: Readonly<TTTLRMConfig>;
  readonly tokenizer: Module;
  readonly input_layernorm: LayerNorm;
  readonly blocks: ModuleList<LaCTBlock>;
  readonly decoder: Module;
  readonly #embed: Linear;
  readonly #decoderNorm: LayerNorm;
  readonly #decoderLinear: Linear;

  /** A model with fresh weights; `config` fills the defaults of `DEFAULT_TTTLRM_CONFIG` (checked, unknown keys rejected). */
  constructor(config?: Partial<TTTLRMConfig>) {
    super();
    const c = resolveConfig(config);
    this.config = Object.freeze(c);
    const p = c.patchSize;
    this.#embed = linear(TOKEN_CHANNELS * p * p, c.width, c.seed * 1024 + 1);
    this.tokenizer = this.child('tokenizer', new Indexed({ 1: this.#embed }));
    this.input_layernorm = this.child('input_layernorm', new LayerNorm(c.width, { bias: false }));
    const blocks: LaCTBlock[] = [];
    for (let i = 0; i < c.depth; i++) {
      blocks.push(
        new LaCTBlock(c.width, {
          heads: c.heads,
          attentionHeadDim: c.attentionHeadDim,
          fastHiddenRatio: c.fastHiddenRatio,
          mlpRatio: c.mlpRatio,
          muonSteps: c.muonSteps,
          baseLr: c.baseLr,
          seed: c.seed * 1024 + 2 + i,
        }),
      );
    }
    this.blocks = this.child('blocks', new ModuleList(blocks));
    this.#decoderNorm = new LayerNorm(c.width, { bias: false });
    this.#decoderLinear = linear(c.width, gaussianChannels(c.shDegree) * p * p, c.seed * 1024 + 1000);
    this.decoder = this.child('decoder', new Indexed({ 0: this.#decoderNorm, 1: this.#decoderLinear }));
  }

  /** `new TTTLRM(config)`. */
  static fromConfig(config?: Partial<TTTLRMConfig>): TTTLRM {
    return new TTTLRM(config);
  }

  /** Tokens `[V, T, p²·12]` → `[1, V, T, D]`. */
  #embedTokens(tokens: Tensor): Tensor {
    return tf.tidy(() => tf.expandDims(this.input_layernorm.forward(this.#embed.forward(tokens)), 0));
  }

  /**
   * Writes input views into the fast weights of every block, starting from `states` (default the learned initial
   * ones): the per-block final states. The caller owns them. Arguments are validated by the caller.
   */
  encodeViews(views: Tensor, cameras: readonly Camera[], states?: readonly FastWeights[]): FastWeights[] {
    return tf.tidy(() => {
      let x = this.#embedTokens(viewTokens(cameras, views, this.config.patchSize));
      const out: FastWeights[] = [];
      this.blocks.items.forEach((block, i) => {
        const r = block.forward(x, { initialState: states?.[i], order: 'update-then-apply' });
        x = r.output;
        out.push(r.finalState);
      });
      return out;
    });
  }

  /**
   * Query-only tokens of `virtualViews` read `states` block by block and decode to unpruned Gaussians. `colours`
   * (`[V', H', W', 3]`, RGB in [0, 1]) fill the virtual tokens' colour channels; default zero.
   */
  decodeViews(states: readonly FastWeights[], virtualViews: readonly Camera[], colours?: Tensor): Gaussians {
    const c = this.config;
    const raw = tf.tidy(() => {
      let x = this.#embedTokens(viewTokens(virtualViews, colours, c.patchSize));
      this.blocks.items.forEach((block, i) => {
        const r = block.forward(x, { initialState: states[i], updateViews: 0 });
        tf.dispose(r.finalState);
        x = r.output;
      });
      return this.#decoderLinear.forward(this.#decoderNorm.forward(tf.squeeze(x, [0])));
    });
    const rays = cameraRays(virtualViews);
    try {
      return decodeGaussians(raw, rays, c.patchSize, c.shDegree, c.farBound, c.scaleOffset);
    } finally {
      tf.dispose([raw, rays]);
    }
  }

  /**
   * The differentiable reconstruction: `views [V, H, W, 3]` (RGB in [0, 1]) seen from `cameras` (V of them, the views'
   * size, H and W divisible by `patchSize`) → unpruned `Gaussians`, V'·H'·W' of them for V' virtual views of H'×W'
   * (`opts.virtualViews`, default `cameras`; one size among themselves, divisible by `patchSize`). Use it inside
   * `tf.grad` / `tf.variableGrads` for training; gradients reach every weight through the fast-weight updates.
   */
  forward(views: Tensor, cameras: readonly Camera[], opts?: TTTLRMForwardOptions): Gaussians {
    const o = checkOptions(opts, FORWARD_OPTIONS);
    checkViews(views, cameras, this.config.patchSize);
    if (o.virtualViews !== undefined) checkCameras(o.virtualViews, this.config.patchSize, 'opts.virtualViews');
    const count = this.virtualViewCount(cameras.length, checkVirtualCount(o.virtualCount, o.virtualViews));
    const states = this.encodeViews(views, cameras);
    try {
      return o.virtualViews !== undefined
        ? this.decodeViews(states, o.virtualViews)
        : decodeFromInputs(this, states, cameras, views, count);
    } finally {
      tf.dispose(states);
    }
  }

  /**
   * `forward`, then Gaussians with opacity below `opts.minOpacity` (default 0.01, tttLRM's usage threshold) removed
   * (async: the mask is read back). The caller owns the result.
   */
  async reconstruct(views: Tensor, cameras: readonly Camera[], opts?: TTTLRMReconstructOptions): Promise<Gaussians> {
    const o = checkOptions(opts, RECONSTRUCT_OPTIONS);
    const minOpacity = checkMinOpacity(o.minOpacity);
    const { minOpacity: _, ...forward } = o;
    const all = this.forward(views, cameras, forward);
    return pruneByOpacity(all, minOpacity);
  }

  /**
   * How many of `inputViews` input cameras `forward`, `reconstruct` and a stream's `gaussians` decode when no
   * `virtualViews` are given: `virtualCount` (a checked option), else `config.maxVirtualViews` (0: every one), at
   * most `inputViews`.
   */
  virtualViewCount(inputViews: number, virtualCount?: number): number {
    const cap = virtualCount ?? this.config.maxVirtualViews;
    return cap > 0 ? Math.min(inputViews, cap) : inputViews;
  }

  /** A streaming reconstruction over this model's weights (see `TTTLRMStream`). */
  stream(): TTTLRMStream {
    return new TTTLRMStream(this);
  }

  /**
   * Writes `dir/config.json` and `dir/model.safetensors` (creating `dir`), each atomically (temporary file + rename).
   */
  async save(dir: string): Promise<void> {
    if (typeof dir !== 'string' || dir === '') throw new ValueError(`dir: expected a directory path, received ${describeValue(dir)}`);
    // Node-only modules load on use, so the package still bundles for browsers
    const { mkdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(dir, { recursive: true });
    await saveSafetensors(join(dir, WEIGHTS_FILE), this.stateDict(), { metadata: { format: 'tessera-tttlrm' } });
    await writeFileAtomic(join(dir, CONFIG_FILE), new TextEncoder().encode(`${JSON.stringify(this.config, null, 2)}\n`));
  }

  /**
   * Reads a model written by `save`. A missing or malformed config.json is a `FormatError`; a config that differs from
   * `opts.config` in any field, or weights whose names or shapes do not match the stored config, a `TesseraError`.
   */
  static async load(dir: string, opts?: TTTLRMLoadOptions): Promise<TTTLRM> {
    const o = checkOptions(opts, LOAD_OPTIONS);
    if (typeof dir !== 'string' || dir === '') throw new ValueError(`dir: expected a directory path, received ${describeValue(dir)}`);
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(dir, CONFIG_FILE), 'utf8'));
    } catch (e) {
      throw new FormatError(`${join(dir, CONFIG_FILE)}: expected a TTTLRM config (JSON), could not read it: ${(e as Error).message}`);
    }
    let stored: TTTLRMConfig;
    try {
      stored = resolveConfig(parsed as Partial<TTTLRMConfig>, CONFIG_FILE);
    } catch (e) {
      throw new FormatError(`${join(dir, CONFIG_FILE)}: ${(e as Error).message}`);
    }
    if (o.config !== undefined) checkConfigMatch(stored, resolveConfig(o.config, 'opts.config'), `TTTLRM.load(${dir})`);
    const dict = await loadSafetensors(join(dir, WEIGHTS_FILE));
    const model = new TTTLRM(stored);
    try {
      model.loadStateDict(dict);
    } catch (e) {
      model.dispose();
      throw new TesseraError(`TTTLRM.load(${dir}): the weights do not match config.json: ${(e as Error).message}`);
    } finally {
      tf.dispose(Object.values(dict));
    }
    return model;
  }
}

/**
 * Decodes from `count` of the input `cameras` (all when undefined) picked by `representativeCameras`; with
 * `virtualColour` the picked views' images fill the colour channels, as in tttLRM's loader (`views`: the inputs).
 */
function decodeFromInputs(
  model: TTTLRM,
  states: readonly FastWeights[],
  cameras: readonly Camera[],
  views: Tensor | undefined,
  count: number,
): Gaussians {
  const picked = count >= cameras.length ? undefined : representativeCameras(cameras, count);
  const virtual = picked === undefined ? cameras : picked.map((i) => cameras[i] as Camera);
  if (!model.config.virtualColour || views === undefined) return model.decodeViews(states, virtual);
  if (picked === undefined) return model.decodeViews(states, virtual, views);
  const colours = tf.gather(views, picked);
  try {
    return model.decodeViews(states, virtual, colours);
  } finally {
    colours.dispose();
  }
}

/** `g` without the Gaussians of opacity < `minOpacity` (g is disposed; returned as is when minOpacity is 0). */
async function pruneByOpacity(g: Gaussians, minOpacity: number): Promise<Gaussians> {
  if (minOpacity === 0) return g;
  const mask = tf.tidy(() => tf.less(tf.sigmoid(g.opacityLogits), minOpacity));
  try {
    return await g.prune(mask);
  } finally {
    mask.dispose();
    g.dispose();
  }
}

/**
 * A streaming tttLRM reconstruction (the paper's autoregressive mode): `push(views, cameras)` writes a batch of views
 * into every block's fast weights, `gaussians()` decodes the scene so far. Only the fast weights carry between pushes —
 * per block 3·H·Dk·Dh floats, i.e. depth·3·width·width·fastHiddenRatio/heads·4 bytes (12 MB for the default config,
 * 3·24·768·3072·4 B = 680 MB for the authors' model) whatever the number of views pushed, plus the list of pushed
 * cameras (a few hundred bytes each) for the default virtual views — and, for a `config.virtualColour` model, the
 * pushed images themselves (V·H·W·3·4 bytes, 0.2 MB a 128² view), which those virtual views read. A push's own
 * activations are freed when it returns.
 *
 * One push of all views equals `reconstruct` over them. Two pushes do not equal one `reconstruct` over their union:
 * the second update's chunk gradient is taken at the weights the first one wrote (not at the initial ones), Muon's
 * Newton–Schulz step is not additive over chunks, and the first push's tokens were carried to the deeper blocks with
 * weights that had seen only the first push. This is the authors' "ar" scan across calls.
 */
export class TTTLRMStream {
  readonly #model: TTTLRM;
  #states: FastWeights[] | undefined;
  #cameras: Camera[] = [];
  /** The pushed views, `[V, H, W, 3]`, kept only for a `virtualColour` model (its default virtual views need them). */
  #views: Tensor | undefined;
  #disposed = false;

  constructor(model: TTTLRM) {
    this.#model = model;
  }

  /** Cameras pushed so far, in order. */
  get cameras(): readonly Camera[] {
    return this.#cameras;
  }

  #checkLive(what: string): void {
    if (this.#disposed) throw new TesseraError(`TTTLRMStream.${what}: the stream was disposed`);
  }

  /** Writes `views [V, H, W, 3]` seen from `cameras` into the fast weights (validated as `TTTLRM.forward`). */
  push(views: Tensor, cameras: readonly Camera[]): void {
    this.#checkLive('push');
    checkViews(views, cameras, this.#model.config.patchSize);
    const next = this.#model.encodeViews(views, cameras, this.#states);
    if (this.#states) tf.dispose(this.#states);
    this.#states = next;
    this.#cameras.push(...cameras);
    if (this.#model.config.virtualColour) {
      const kept = this.#views ? tf.concat([this.#views, views]) : tf.clone(views);
      this.#views?.dispose();
      this.#views = kept;
    }
  }

  /**
   * The scene so far as Gaussians from `opts.virtualViews` (default `opts.virtualCount` of the cameras pushed, else
   * `config.maxVirtualViews` of them, 0: every one), pruned below `opts.minOpacity` (default 0.01). Throws when nothing was pushed. The caller owns the result.
   */
  async gaussians(opts?: TTTLRMReconstructOptions): Promise<Gaussians> {
    this.#checkLive('gaussians');
    const o = checkOptions(opts, RECONSTRUCT_OPTIONS);
    const minOpacity = checkMinOpacity(o.minOpacity);
    if (this.#states === undefined) throw new TesseraError('TTTLRMStream.gaussians: no views were pushed yet');
    if (o.virtualViews !== undefined) checkCameras(o.virtualViews, this.#model.config.patchSize, 'opts.virtualViews');
    const count = this.#model.virtualViewCount(this.#cameras.length, checkVirtualCount(o.virtualCount, o.virtualViews));
    // every pushed camera decodes when no subset is asked for: at most MAX_TTTLRM_VIEWS of them, as for explicit ones
    if (o.virtualViews === undefined && count >= this.#cameras.length) {
      checkCameras(this.#cameras, this.#model.config.patchSize, 'cameras pushed');
    }
    const all =
      o.virtualViews !== undefined
        ? this.#model.decodeViews(this.#states, o.virtualViews)
        : decodeFromInputs(this.#model, this.#states, this.#cameras, this.#views, count);
    return pruneByOpacity(all, minOpacity);
  }

  /** Frees the fast weights. Idempotent; the model is not disposed. */
  dispose(): void {
    if (this.#states) tf.dispose(this.#states);
    this.#views?.dispose();
    this.#states = undefined;
    this.#views = undefined;
    this.#disposed = true;
  }
}
