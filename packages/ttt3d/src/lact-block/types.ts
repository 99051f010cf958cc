import type { Tensor } from '@tessera/tensor-core';
import type { FastWeights } from '../lact/index.js';

/** Which of LaCT's two chunk orders a `LaCTBlock` runs (papers/ttt3d.md §1.2). */
export type LaCTOrder = 'update-then-apply' | 'apply-then-update';

/** Construction options of `LaCTBlock`. */
export interface LaCTBlockOptions {
  /** Fast-weight heads H (tttLRM: 1, head dim = width). `width` must be divisible by it. Default 1. */
  heads?: number;
  /** Head size of the per-view attention (tttLRM: 64). `width` must be divisible by it. Default 64, or `width` if smaller. */
  attentionHeadDim?: number;
  /** Fast-weight hidden size over head size, Dh / Dk (the authors' `inter_multi`: 4). Default 4. */
  fastHiddenRatio?: number;
  /** MLP hidden size over width (`inter_multi` of the MLP: 4). Default 4. */
  mlpRatio?: number;
  /** Newton–Schulz steps of each fast-weight update (`muon_update_steps`: 5). Default 5. */
  muonSteps?: number;
  /** The learning rate a zero lr logit maps to (`base_lr`: 0.01). Default 0.01. */
  baseLr?: number;
  /** Philox seed of the initial weights. Default 0. */
  seed?: number;
}

/** Options of `LaCTBlock.forward`. */
export interface LaCTBlockForwardOptions {
  /**
   * The fast weights to start from, `{ w0 [B, H, Dk, Dh], w1 [B, H, Dh, Dk], w2 [B, H, Dk, Dh] }` (a previous call's
   * `finalState`); default the learned initial fast weights (the slow weights w0, w1, w2) for each batch entry. Not
   * disposed.
   */
  initialState?: FastWeights;
  /** Default 'update-then-apply' (the authors' reconstruction order). */
  order?: LaCTOrder;
  /**
   * The first `updateViews` views carry content and write the fast weights; the rest (query-only / virtual views) only
   * read them, after every update. 0 ≤ updateViews ≤ V; default V.
   */
  updateViews?: number;
  /** 'apply-then-update' only: views per chunk (each chunk reads the weights before it, then writes). Default 1. */
  chunkViews?: number;
}

/** Result of `LaCTBlock.forward`; the caller owns (and disposes) both. */
export type LaCTBlockResult = { output: Tensor; finalState: FastWeights };
