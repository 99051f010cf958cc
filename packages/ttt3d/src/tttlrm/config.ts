import { checkRange, describeValue, TesseraError, ValueError } from '@tessera/tensor-core';
import { MAX_MUON_STEPS } from '../lact/index.js';
import { MAX_LACT_RATIO, MAX_LACT_WIDTH } from '../lact-block/index.js';
import { MAX_SH_DEGREE } from '../gaussians/index.js';
import { MAX_TTTLRM_VIEWS } from './validate.js';

/**
 * Sizes of a `TTTLRM`. The defaults are a small model that trains in minutes on one GPU at 128²; the authors'
 * tttLRM (configs/dl3dv_full.yaml) is width 768, depth 24, heads 1, attentionHeadDim 64, fastHiddenRatio 4,
 * mlpRatio 4, patchSize 8, shDegree 3, muonSteps 5, baseLr 0.01, farBound 500 (their scenes are metric-scale).
 */
export interface TTTLRMConfig {
  /** Side of the square training images (views may be any size divisible by `patchSize`). Default 128. */
  imageSize: number;
  /** Patch side p: one token per p×p pixels, one Gaussian per pixel. Default 8. */
  patchSize: number;
  /** Token width D. Default 256. */
  width: number;
  /** Number of LaCT blocks. Default 4. */
  depth: number;
  /** Fast-weight heads. Default 1 (as tttLRM). */
  heads: number;
  /** Head size of the per-view attention. Default 64. */
  attentionHeadDim: number;
  /** Fast-weight hidden size over head size (`inter_multi`). Default 4. */
  fastHiddenRatio: number;
  /** MLP hidden size over width. Default 4. */
  mlpRatio: number;
  /** Newton–Schulz steps per fast-weight update. Default 5. */
  muonSteps: number;
  /** Base fast-weight learning rate. Default 0.01. */
  baseLr: number;
  /** Largest depth along a ray (the authors' `max_dist`): depth = sigmoid(raw)·farBound, world units. Default 4. */
  farBound: number;
  /** SH degree of the decoded Gaussians, 0–3. Default 3. */
  shDegree: number;
  /**
   * Log-scale offset of the decoder: log σ = min(raw − scaleOffset, −1.2), world units. Default 2.3 (the authors'), so
   * σ starts near e^−2.3 ≈ 0.1 — about 7.6 px at 128² for our scenes (fov 0.8, depth 2), which the model does not learn
   * its way out of in a few hundred steps; the training script picks about one pixel instead (`pixelScaleOffset`).
   */
  scaleOffset: number;
  /**
   * Virtual views that are the input cameras carry the input image in their colour channels (tttLRM's data loader:
   * `virtual_from_input`); other virtual views get zero colour. Off: every virtual token has ray channels only (LaCT
   * NVS' pose-only queries). Default false.
   */
  virtualColour: boolean;
  /**
   * Virtual views decoded by default: at most this many of the input cameras (`representativeCameras`, as
   * `virtualCount` picks them), 0 for all of them. Each virtual view adds a layer of pixel-aligned Gaussians whose
   * opacities the model learnt for the view counts it was trained on, so past them quality falls as views are added
   * (the committed weights, trained on up to 32 views: 16.4 dB at 64 views decoding all 64, 17.9 dB decoding 32 —
   * README, tttLRM). A property of the trained weights, hence stored with them. `virtualCount` and `virtualViews`
   * override it. Default 0.
   */
  maxVirtualViews: number;
  /** Philox seed of the initial weights. Default 0. */
  seed: number;
}

export const DEFAULT_TTTLRM_CONFIG: Readonly<TTTLRMConfig> = Object.freeze({
  imageSize: 128,
  patchSize: 8,
  width: 256,
  depth: 4,
  heads: 1,
  attentionHeadDim: 64,
  fastHiddenRatio: 4,
  mlpRatio: 4,
  muonSteps: 5,
  baseLr: 0.01,
  farBound: 4,
  shDegree: 3,
  seed: 0,
  scaleOffset: 2.3,
  virtualColour: false,
  maxVirtualViews: 0,
});

export const CONFIG_KEYS = Object.keys(DEFAULT_TTTLRM_CONFIG) as (keyof TTTLRMConfig)[];

/** Largest `depth`, `patchSize` and `imageSize`. */
export const MAX_TTTLRM_DEPTH = 256;
export const MAX_PATCH_SIZE = 64;
export const MAX_TTTLRM_IMAGE_SIZE = 4096;

/** `partial` over the defaults, every field checked (unknown keys are errors). */
export function resolveConfig(partial: Partial<TTTLRMConfig> | undefined, name = 'config'): TTTLRMConfig {
  if (partial !== undefined && (partial === null || typeof partial !== 'object' || Array.isArray(partial))) {
    throw new ValueError(`${name}: expected a config object, received ${describeValue(partial)}`);
  }
  for (const key of Object.keys(partial ?? {})) {
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      throw new ValueError(`${name}.${key}: expected one of the config keys (${CONFIG_KEYS.join(', ')}), received an unknown key`);
    }
  }
  const c = { ...DEFAULT_TTTLRM_CONFIG, ...partial } as TTTLRMConfig;
  const int = (key: Exclude<keyof TTTLRMConfig, 'virtualColour'>, min: number, max: number): void => {
    checkRange(c[key], { min, max, integer: true }, `${name}.${key}`);
  };
  int('patchSize', 1, MAX_PATCH_SIZE);
  int('imageSize', 1, MAX_TTTLRM_IMAGE_SIZE);
  int('width', 1, MAX_LACT_WIDTH);
  int('depth', 1, MAX_TTTLRM_DEPTH);
  int('heads', 1, c.width);
  int('attentionHeadDim', 1, c.width);
  int('muonSteps', 0, MAX_MUON_STEPS);
  int('shDegree', 0, MAX_SH_DEGREE);
  int('seed', 0, 2 ** 32);
  int('maxVirtualViews', 0, MAX_TTTLRM_VIEWS);
  checkRange(c.fastHiddenRatio, { min: 0, minExclusive: true, max: MAX_LACT_RATIO }, `${name}.fastHiddenRatio`);
  checkRange(c.mlpRatio, { min: 0, minExclusive: true, max: MAX_LACT_RATIO }, `${name}.mlpRatio`);
  checkRange(c.baseLr, { min: 0, minExclusive: true }, `${name}.baseLr`);
  checkRange(c.farBound, { min: 0, minExclusive: true }, `${name}.farBound`);
  checkRange(c.scaleOffset, { min: -100, max: 100 }, `${name}.scaleOffset`);
  if (typeof c.virtualColour !== 'boolean') {
    throw new ValueError(`${name}.virtualColour: expected a boolean, received ${describeValue(c.virtualColour)}`);
  }
  if (c.imageSize % c.patchSize !== 0) {
    throw new ValueError(`${name}.imageSize: expected a multiple of patchSize ${c.patchSize}, received ${c.imageSize}`);
  }
  for (const key of ['heads', 'attentionHeadDim'] as const) {
    if (c.width % c[key] !== 0) throw new ValueError(`${name}.${key}: expected a divisor of width ${c.width}, received ${c[key]}`);
  }
  return c;
}

/** Channels the decoder emits per pixel: position (3), SH ((d+1)²·3), scale (3), rotation (4), opacity (1). */
export function gaussianChannels(shDegree: number): number {
  return 3 + (shDegree + 1) ** 2 * 3 + 3 + 4 + 1;
}

/** Throws `TesseraError` naming the first field where `stored` differs from `expected`. */
export function checkConfigMatch(stored: TTTLRMConfig, expected: TTTLRMConfig, where: string): void {
  for (const key of CONFIG_KEYS) {
    if (stored[key] !== expected[key]) {
      throw new TesseraError(
        `${where}: config mismatch: ${key} is ${describeValue(stored[key])} in the weights, expected ${describeValue(expected[key])}`,
      );
    }
  }
}
