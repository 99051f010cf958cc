import { type Tensor, TesseraError, tf } from '@tessera/tensor-core';
import { blockMaskFromLists } from '../flash/reference.js';
import { compactOp, sparsityOp, transposeListsOp } from './op.js';
import { checkFromDense, type FromDenseOptions } from './validate.js';

// set by BlockMask's static block: mask builders of this package wrap the lists their kernels made
let wrapLists: (lists: Tensor[], blockSize: readonly [number, number]) => BlockMask;

/**
 * A block-sparse attention mask in PyTorch FlexAttention's layout (`torch.nn.attention.flex_attention.
 * BlockMask`), the one mask type of every mask builder and kernel here. For each (batch, head, query
 * block i): `kvNumBlocks[b, h, i]` key blocks are kept, listed in ascending order in the first entries
 * of `kvIndices[b, h, i, :]` (absolute block indices; the rest of the row is −1). `qNumBlocks` /
 * `qIndices` hold the transpose — for each key block, the query blocks keeping it — which the backward
 * walks. Query block i covers positions [i·bq, (i + 1)·bq), key block j [j·bk, (j + 1)·bk); the last block
 * of a sequence may be short. All tensors are int32 and live on the device that built them.
 *
 * A BlockMask owns its tensors: `dispose()` frees them. The builders make only what the forward reads,
 * `kvIndices` and `kvNumBlocks`; `qIndices` / `qNumBlocks` (two programs on WebGPU) and `sparsity` (one)
 * are made on first access — by the backward of `blockSparseAttention` when a gradient is recorded, or by
 * you — and cached: the mask owns them as it owns the others (kept out of any `tf.tidy`, freed by
 * `dispose()`; do not dispose them yourself), so a forward-only caller pays for neither.
 */
export class BlockMask {
  /** `[B, H, Nq]` int32: kept key blocks per query block. */
  readonly kvNumBlocks: Tensor;
  /** `[B, H, Nq, Nk]` int32: kept key block indices, ascending, then −1. */
  readonly kvIndices: Tensor;
  /** `[bq, bk]`: positions per query block and per key block. */
  readonly blockSize: readonly [number, number];
  #transpose: [Tensor, Tensor] | null = null;
  #sparsity: Tensor | null = null;
  #disposed = false;

  private constructor(lists: Tensor[], blockSize: readonly [number, number]) {
    const [kvIndices, kvNumBlocks] = lists as [Tensor, Tensor];
    this.kvIndices = kvIndices;
    this.kvNumBlocks = kvNumBlocks;
    this.blockSize = Object.freeze([blockSize[0], blockSize[1]]) as readonly [number, number];
  }

  /** `[B, H, Nk]` int32: query blocks keeping each key block. Made on first access (with `qIndices`), owned by the mask. */
  get qNumBlocks(): Tensor {
    return this.#transposed('qNumBlocks')[1];
  }

  /** `[B, H, Nk, Nq]` int32: those query block indices, ascending, then −1. Made on first access (with `qNumBlocks`), owned by the mask. */
  get qIndices(): Tensor {
    return this.#transposed('qIndices')[0];
  }

  /**
   * Fraction of (query block, key block) pairs dropped, over all B·H·Nq·Nk pairs (as FlexAttention's
   * `sparsity()`, as a fraction): a float32 scalar. Made on first access, owned by the mask.
   */
  get sparsity(): Tensor {
    if (this.#sparsity === null) {
      this.#checkLive('sparsity');
      this.#sparsity = tf.keep(sparsityOp({ kvNum: this.kvNumBlocks }, { cells: this.kvIndices.size }));
    }
    return this.#sparsity;
  }

  static {
    wrapLists = (lists, blockSize) => new BlockMask(lists, blockSize);
  }

  /**
   * Builds a mask from a dense block mask `[B, H, Nq, Nk]` (bool, or int32 with nonzero = kept), on the
   * device that holds it (a WGSL compaction on WebGPU). `blockSize` defaults to [128, 64]. The dense
   * tensor is not taken over.
   */
  static fromDense(dense: Tensor, opts?: FromDenseOptions): BlockMask {
    const blockSize = checkFromDense(dense, opts);
    const lists = tf.tidy(() => compactOp({ mask: dense.dtype === 'int32' ? dense : tf.cast(dense, 'int32') }, {}));
    return new BlockMask(lists, blockSize);
  }

  /** `[B, H, Nq, Nk]`: the grid of blocks. */
  get shape(): [number, number, number, number] {
    return this.kvIndices.shape as [number, number, number, number];
  }

  /** Whether `dispose()` has run. */
  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** The dense block mask `[B, H, Nq, Nk]`, int32 1 = kept (FlexAttention's `to_dense()`); a new tensor. */
  toDense(): Tensor {
    this.#checkLive('toDense');
    return tf.tidy(() => tf.cast(blockMaskFromLists(this.kvNumBlocks, this.kvIndices, this.shape[3]), 'int32'));
  }

  /** Frees the mask's tensors, the ones made on first access included. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    tf.dispose([this.kvNumBlocks, this.kvIndices, ...(this.#transpose ?? []), ...(this.#sparsity === null ? [] : [this.#sparsity])]);
  }

  #transposed(field: string): [Tensor, Tensor] {
    if (this.#transpose === null) {
      this.#checkLive(field);
      // kept: made inside a caller's tf.tidy, they still belong to the mask
      const [qIdx, qNum] = transposeListsOp({ kvIdx: this.kvIndices }, {}) as [Tensor, Tensor];
      this.#transpose = [tf.keep(qIdx), tf.keep(qNum)];
    }
    return this.#transpose;
  }

  #checkLive(method: string): void {
    if (this.#disposed) throw new TesseraError(`BlockMask.${method}: the mask was disposed`);
  }
}

/**
 * A BlockMask over lists `[kvIndices, kvNumBlocks]` that a kernel of this package built (valid by construction, so unchecked); takes them over. Not exported from the package.
 */
export function blockMaskOfLists(lists: Tensor[], blockSize: readonly [number, number]): BlockMask {
  return wrapLists(lists, blockSize);
}
