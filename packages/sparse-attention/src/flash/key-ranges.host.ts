import type { HostTensor } from '@tessera/tensor-core';
import type { FlashAttrs, FlashInput } from './reference.js';

/**
 * The keys one query block attends to, as `[start, end)` ranges of key positions: all of `[0, Lk)` when
 * dense; when sparse, the blocks among the first `kvNum[i]` entries of `kvIdx[i]` (FlexAttention's
 * layout), block j covering `[j·bk, min((j + 1)·bk, Lk))`. What `blockMaskFromLists` lets through, read
 * the same way: an index outside `[0, Nk)` (the −1 padding) keeps nothing and a repeated one counts once,
 * so the online softmax never sees a key twice. Adjacent blocks merge into one range (longer runs for the
 * row kernels); causal limits are the caller's, per query.
 */
export class KeyRanges {
  /** `[start, end)` pairs of the last `read`. */
  readonly bounds: Int32Array;
  private readonly sparse: boolean;
  private readonly lk: number;
  private readonly bk: number;
  private readonly nk: number;
  private readonly kvNum: Int32Array;
  private readonly kvIdx: Int32Array;
  private readonly listBatch: number;
  private readonly listHeads: number;
  private readonly listRows: number;
  private readonly width: number;
  /** Per key block, the `read` that last took it (dedupes without clearing between reads). */
  private readonly seen: Uint32Array;
  private stamp = 0;

  constructor(t: Record<FlashInput, HostTensor>, attrs: FlashAttrs, lk: number) {
    this.sparse = attrs.sparse;
    this.lk = lk;
    this.bk = attrs.bk;
    this.nk = attrs.sparse ? Math.ceil(lk / attrs.bk) : 1;
    this.bounds = new Int32Array(2 * this.nk);
    this.seen = new Uint32Array(this.nk);
    const [listBatch = 1, listHeads = 1, listRows = 0, width = 0] = attrs.sparse ? (t.kvIdx.shape as number[]) : [];
    this.kvNum = t.kvNum.values as Int32Array;
    this.kvIdx = t.kvIdx.values as Int32Array;
    this.listBatch = listBatch;
    this.listHeads = listHeads;
    this.listRows = listRows;
    this.width = width;
  }

  /** Fills `bounds` for query block `qBlock` of head (b, h); returns the number of ranges. */
  read(b: number, h: number, qBlock: number): number {
    if (!this.sparse) {
      this.bounds[0] = 0;
      this.bounds[1] = this.lk;
      return 1;
    }
    if (qBlock >= this.listRows) return 0;
    // lists of one batch or one head serve every batch or head (the reference's broadcast)
    const row = ((this.listBatch === 1 ? 0 : b) * this.listHeads + (this.listHeads === 1 ? 0 : h)) * this.listRows + qBlock;
    const kept = Math.min(Math.max(this.kvNum[row] as number, 0), this.width);
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    const bounds = this.bounds;
    let count = 0;
    for (let s = 0; s < kept; s++) {
      const j = this.kvIdx[row * this.width + s] as number;
      if (j < 0 || j >= this.nk || this.seen[j] === this.stamp) continue;
      this.seen[j] = this.stamp;
      const start = j * this.bk;
      const end = Math.min(start + this.bk, this.lk);
      if (count > 0 && bounds[2 * count - 1] === start) bounds[2 * count - 1] = end;
      else {
        bounds[2 * count] = start;
        bounds[2 * count + 1] = end;
        count++;
      }
    }
    return count;
  }
}
