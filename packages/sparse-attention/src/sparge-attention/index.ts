import { checkOptions, type Tensor, tf } from '@tessera/tensor-core';
import { blockSparseAttention } from '../block-sparse/index.js';
import { checkCausal, checkQkv } from '../flash/validate.js';
import { blockScores } from '../masks/block-scores.js';
import { hybridMask } from '../masks/hybrid.js';

export interface SpargeAttentionOptions {
  /** Tokens per query block. Default 128. */
  bq?: number;
  /** Tokens per key block. Default 64. */
  bk?: number;
  /** Top-k ratio of the hybrid mask, in (0, 1]. Default 0.03. */
  topK?: number;
  /** Top-p mass of the hybrid mask, in (0, 1]. Default 0.2. */
  topP?: number;
  /** Causal attention (needs Lq = Lk): block-causal scores and token-causal attention. Default false. */
  causal?: boolean;
  /** Multiplies QKᵀ (and the pooled scores). Default D^−1/2. */
  scale?: number;
}

export type SpargeAttentionResult = {
  /** `[B, H, Lq, D]`. */
  output: Tensor;
  /** Scalar float32: the fraction of (query block, key block) pairs the mask dropped. */
  sparsity: Tensor;
};

/**
 * SpargeAttention2's attention (papers/sparse.md A.1'–A.2): `blockScores` → `hybridMask` →
 * `blockSparseAttention`, all on the inputs' device with no host round trip. `q [B, H, Lq, D]`,
 * `k, v [B, H, Lk, D]` → `{ output, sparsity }`. Differentiable in q, k and v through the kept blocks; the
 * mask is a constant for gradients.
 */
export function spargeAttention(q: Tensor, k: Tensor, v: Tensor, opts?: SpargeAttentionOptions): SpargeAttentionResult {
  const o = checkOptions(opts, ['bq', 'bk', 'topK', 'topP', 'causal', 'scale']);
  checkQkv(q, k, v, checkCausal(o.causal));
  const scores = blockScores(q, k, { bq: o.bq, bk: o.bk, causal: o.causal, scale: o.scale });
  let mask: ReturnType<typeof hybridMask>;
  try {
    mask = hybridMask(scores, { topK: o.topK, topP: o.topP, bq: o.bq, bk: o.bk });
  } finally {
    scores.dispose();
  }
  try {
    const output = blockSparseAttention(q, k, v, mask, { causal: o.causal, scale: o.scale });
    return { output, sparsity: tf.clone(mask.sparsity) };
  } finally {
    mask.dispose();
  }
}
