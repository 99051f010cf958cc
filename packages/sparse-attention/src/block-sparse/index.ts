import { checkOptions, type Tensor, tf } from '@tessera/tensor-core';
import type { BlockMask } from '../block-mask/index.js';
import { runFlash } from '../flash/index.js';
import { checkCausal, checkQkv, resolveScale } from '../flash/validate.js';
import { checkMask } from './validate.js';

export interface BlockSparseAttentionOptions {
  /** Additionally hide keys after the query inside kept blocks (needs Lq = Lk). Default false. */
  causal?: boolean;
  /** Multiplies QKᵀ before the softmax. Default D^−1/2. */
  scale?: number;
}

const KNOWN = ['causal', 'scale'] as const;

/**
 * Block-sparse attention (SpargeAttention2, Alg. 1; papers/sparse.md A.2): for query block i, the softmax
 * runs over the keys of the blocks `mask` keeps for it only — the dense reference with −∞ on dropped
 * blocks, renormalised over kept ones. `q [B, H, Lq, D]`, `k, v [B, H, Lk, D]`, `mask` a BlockMask with
 * grid `[B, H, ⌈Lq/bq⌉, ⌈Lk/bk⌉]` → `[B, H, Lq, D]`. A query that sees no key (its block keeps none, or,
 * with `causal`, only later keys) gets output 0.
 *
 * On WebGPU a flash-style WGSL kernel visits only the listed key blocks (online softmax, log-sum-exp
 * saved), and its gradient is a WGSL backward over kept blocks only (dQ over `kvIndices`, dK and dV over
 * `qIndices`); the mask is a constant for gradients. On CPU and WASM a typed-array kernel walks the same
 * kept key blocks (forward and backward).
 */
export function blockSparseAttention(q: Tensor, k: Tensor, v: Tensor, mask: BlockMask, opts?: BlockSparseAttentionOptions): Tensor {
  const o = checkOptions(opts, KNOWN);
  const causal = checkCausal(o.causal);
  const dims = checkQkv(q, k, v, causal);
  checkMask(mask, dims);
  const scale = resolveScale(o.scale, dims.d);
  const [bq, bk] = mask.blockSize;
  return tf.tidy(() => {
    // the transpose feeds only the dK/dV backward: it is asked of the mask (made once, cached there) only
    // when a gradient is being recorded. Otherwise the forward, which never reads it, binds the row lists in
    // its place, so a forward-only call runs no program for it
    const taping = tf.engine().isTapeOn();
    const lists = {
      kvNum: mask.kvNumBlocks,
      kvIdx: mask.kvIndices,
      qNum: taping ? mask.qNumBlocks : mask.kvNumBlocks,
      qIdx: taping ? mask.qIndices : mask.kvIndices,
    };
    return runFlash(q, k, v, lists, { causal, sparse: true, scale, bq, bk })[0] as Tensor;
  });
}
