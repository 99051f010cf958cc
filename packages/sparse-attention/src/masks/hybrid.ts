import { checkOptions, type Tensor } from '@tessera/tensor-core';
import type { BlockMask } from '../block-mask/index.js';
import { checkBlock } from '../block-mask/index.js';
import { ceilFraction, selectMask } from './select.js';
import { checkFraction, checkScores } from './validate.js';

export interface HybridMaskOptions {
  /** Top-k ratio k ∈ (0, 1]: each row keeps its ⌈k·Nk⌉ highest blocks. Default 0.03. */
  topK?: number;
  /** Top-p mass p ∈ (0, 1]: each row keeps the smallest set of highest blocks whose mass reaches p. Default 0.2. */
  topP?: number;
  /** Tokens per query block of the mask (as in `blockScores`). Default 128. */
  bq?: number;
  /** Tokens per key block. Default 64. */
  bk?: number;
}

export type TopKMaskOptions = Omit<HybridMaskOptions, 'topP'>;
export type TopPMaskOptions = Omit<HybridMaskOptions, 'topK'>;

/**
 * SpargeAttention2's hybrid mask (papers/sparse.md A.1', Eq. 9): per row of block probabilities
 * `scores [B, H, Nq, Nk]` (from `blockScores`), the union of the top ⌈k·Nk⌉ blocks and the smallest set
 * of highest blocks whose mass reaches p → a `BlockMask` with block size [bq, bk]. Top-k alone fails on
 * near-uniform rows (k% of the blocks holds only about k% of the mass), top-p alone on skewed rows (an
 * attention sink alone reaches p and the informative blocks after it are dropped); the union keeps a
 * floor of k blocks and adapts beyond it. Ranking is by score, ties to the lower block index; blocks of
 * score 0 (causally excluded, or underflowed) are never kept, so a row keeps at most its positive blocks.
 * Built on the scores' device (on WebGPU one WGSL program selects, compacts and counts each row; the
 * transpose and the sparsity are made on first access); a constant for gradients.
 */
export function hybridMask(scores: Tensor, opts?: HybridMaskOptions): BlockMask {
  const o = checkOptions(opts, ['topK', 'topP', 'bq', 'bk']);
  const topK = checkFraction(o.topK ?? 0.03, 'opts.topK');
  const topP = checkFraction(o.topP ?? 0.2, 'opts.topP');
  const [bq, bk, nk] = blockSizes(o, scores);
  return selectMask(scores, { k: ceilFraction(topK, nk), pBefore: topP, pThrough: -1 }, bq, bk);
}

/** Top-k alone (the paper's ablation arm): each row keeps its ⌈k·Nk⌉ highest positive blocks. k ∈ (0, 1], no default. */
export function topKMask(scores: Tensor, opts: TopKMaskOptions): BlockMask {
  const o = checkOptions(opts, ['topK', 'bq', 'bk']);
  const topK = checkFraction(o.topK as number, 'opts.topK');
  const [bq, bk, nk] = blockSizes(o, scores);
  return selectMask(scores, { k: ceilFraction(topK, nk), pBefore: 0, pThrough: -1 }, bq, bk);
}

/** Top-p alone: each row keeps the smallest set of highest blocks whose mass reaches p ∈ (0, 1], no default. */
export function topPMask(scores: Tensor, opts: TopPMaskOptions): BlockMask {
  const o = checkOptions(opts, ['topP', 'bq', 'bk']);
  const topP = checkFraction(o.topP as number, 'opts.topP');
  const [bq, bk] = blockSizes(o, scores);
  return selectMask(scores, { k: 0, pBefore: topP, pThrough: -1 }, bq, bk);
}

function blockSizes(o: { bq?: number; bk?: number }, scores: Tensor): [number, number, number] {
  const bq = checkBlock(o.bq ?? 128, 'opts.bq');
  const bk = checkBlock(o.bk ?? 64, 'opts.bk');
  const nk = checkScores(scores)[3];
  return [bq, bk, nk];
}
