import { tf } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { BlockMask } from '../src/index.js';
import { compactOp, transposeListsOp } from '../src/block-mask/index.js';
import { randomBlockMask } from './cases.js';

/** FlexAttention's lists, by hand: ascending kept indices, −1 after, and counts, for rows and columns. */
function lists(dense: number[], b: number, h: number, nq: number, nk: number) {
  const kvIdx: number[] = [];
  const kvNum: number[] = [];
  const qIdx: number[] = [];
  const qNum: number[] = [];
  for (let bh = 0; bh < b * h; bh++) {
    for (let i = 0; i < nq; i++) {
      const row = [...Array(nk).keys()].filter((j) => dense[(bh * nq + i) * nk + j] !== 0);
      kvNum.push(row.length);
      kvIdx.push(...row, ...new Array(nk - row.length).fill(-1));
    }
    for (let j = 0; j < nk; j++) {
      const col = [...Array(nq).keys()].filter((i) => dense[(bh * nq + i) * nk + j] !== 0);
      qNum.push(col.length);
      qIdx.push(...col, ...new Array(nq - col.length).fill(-1));
    }
  }
  return { kvIdx, kvNum, qIdx, qNum };
}

describeBackends('BlockMask', (backend) => {
  it('runs the compaction kernel on every backend (WGSL on webgpu, typed arrays on cpu and wasm)', () => {
    expect(compactOp.hasKernel()).toBe(true);
    expect(backend).toBeDefined();
  });

  it('fromDense writes FlexAttention lists: ascending kept indices, −1 padding, counts, and the transpose', async () => {
    const [b, h, nq, nk] = [2, 3, 5, 7];
    const dense = randomBlockMask([b, h, nq, nk], 3, 0.4);
    const mask = BlockMask.fromDense(dense, { blockSize: [16, 8] });
    const want = lists(Array.from(await dense.data()), b, h, nq, nk);
    expect(Array.from(await mask.kvIndices.data())).toEqual(want.kvIdx);
    expect(Array.from(await mask.kvNumBlocks.data())).toEqual(want.kvNum);
    expect(Array.from(await mask.qIndices.data())).toEqual(want.qIdx);
    expect(Array.from(await mask.qNumBlocks.data())).toEqual(want.qNum);
    expect(mask.kvIndices.shape).toEqual([b, h, nq, nk]);
    expect(mask.qIndices.shape).toEqual([b, h, nk, nq]);
    expect(mask.kvIndices.dtype).toBe('int32');
    expect(mask.blockSize).toEqual([16, 8]);
    const kept = want.kvNum.reduce((x, y) => x + y, 0);
    expect((await mask.sparsity.data())[0]).toBeCloseTo(1 - kept / (b * h * nq * nk), 6);
    const back = mask.toDense();
    expect(back.dtype).toBe('int32');
    expect(Array.from(await back.data())).toEqual(Array.from(await dense.data()));
    tf.dispose([dense, back]);
    mask.dispose();
    expect(mask.isDisposed).toBe(true);
  });

  it('makes the transpose and the sparsity on first access; the mask owns them (they outlive a tf.tidy, dispose frees them)', async () => {
    const dense = randomBlockMask([1, 2, 4, 6], 11, 0.5);
    const want = lists(Array.from(await dense.data()), 1, 2, 4, 6);
    const before = tf.memory().numTensors;
    const mask = BlockMask.fromDense(dense, { blockSize: [8, 8] });
    // kvIndices and kvNumBlocks only
    expect(tf.memory().numTensors).toBe(before + 2);
    const [qIdx, sparsity] = tf.tidy(() => [mask.qIndices, mask.sparsity]);
    expect(tf.memory().numTensors).toBe(before + 5);
    expect(mask.qIndices).toBe(qIdx);
    expect(mask.sparsity).toBe(sparsity);
    expect(Array.from(await mask.qIndices.data())).toEqual(want.qIdx);
    expect(Array.from(await mask.qNumBlocks.data())).toEqual(want.qNum);
    mask.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => BlockMask.fromDense(dense).dispose()).not.toThrow();
    const unused = BlockMask.fromDense(dense);
    unused.dispose();
    expect(() => unused.qIndices).toThrow(/disposed/);
    expect(() => unused.sparsity).toThrow(/disposed/);
    expect(tf.memory().numTensors).toBe(before);
    dense.dispose();
  });

  it('the tfjs references of the compaction and of the transpose agree with the kernels', async () => {
    const dense = randomBlockMask([1, 2, 6, 9], 8, 0.5);
    const ours = compactOp({ mask: dense }, {});
    const ref = compactOp.reference({ mask: dense }, {});
    const oursT = transposeListsOp({ kvIdx: ours[0] as tf.Tensor }, {});
    const refT = transposeListsOp.reference({ kvIdx: ours[0] as tf.Tensor }, {});
    const want = lists(Array.from(await dense.data()), 1, 2, 6, 9);
    expect(ours).toHaveLength(2);
    expect(Array.from(await (oursT[0] as tf.Tensor).data())).toEqual(want.qIdx);
    expect(Array.from(await (oursT[1] as tf.Tensor).data())).toEqual(want.qNum);
    for (const [a, b] of [...ours.map((t, i) => [t, ref[i]]), ...oursT.map((t, i) => [t, refT[i]])] as [tf.Tensor, tf.Tensor][]) {
      expect(a.shape).toEqual(b.shape);
      expect(a.dtype).toBe('int32');
      expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    }
    tf.dispose([dense, ...ours, ...ref, ...oursT, ...refT]);
  });

  it('compacts rows and columns longer than one pass of a workgroup (2100 blocks)', async () => {
    for (const shape of [
      [1, 1, 3, 2100],
      [1, 1, 2100, 3],
    ] as [number, number, number, number][]) {
      const dense = randomBlockMask(shape, 17, 0.3);
      const mask = BlockMask.fromDense(dense);
      const want = lists(Array.from(await dense.data()), ...shape);
      expect(Array.from(await mask.kvIndices.data())).toEqual(want.kvIdx);
      expect(Array.from(await mask.kvNumBlocks.data())).toEqual(want.kvNum);
      expect(Array.from(await mask.qIndices.data())).toEqual(want.qIdx);
      expect(Array.from(await mask.qNumBlocks.data())).toEqual(want.qNum);
      const kept = want.kvNum.reduce((x, y) => x + y, 0);
      expect((await mask.sparsity.data())[0]).toBeCloseTo(1 - kept / (3 * 2100), 6);
      dense.dispose();
      mask.dispose();
    }
  });

  it('accepts bool masks, defaults the block size to [128, 64], and handles empty and full rows', async () => {
    const dense = tf.tensor4d([1, 1, 1, 0, 0, 0], [1, 1, 2, 3], 'bool');
    const mask = BlockMask.fromDense(dense);
    expect(mask.blockSize).toEqual([128, 64]);
    expect(Array.from(await mask.kvNumBlocks.data())).toEqual([3, 0]);
    expect(Array.from(await mask.kvIndices.data())).toEqual([0, 1, 2, -1, -1, -1]);
    expect(Array.from(await mask.qNumBlocks.data())).toEqual([1, 1, 1]);
    expect((await mask.sparsity.data())[0]).toBeCloseTo(0.5, 6);
    mask.dispose();
    dense.dispose();
  });

  it('leaks no tensors: fromDense + dispose, toDense', async () => {
    const dense = randomBlockMask([1, 1, 4, 4], 1, 0.5);
    await expectNoLeaks(() => {
      const mask = BlockMask.fromDense(dense, { blockSize: [4, 4] });
      const d = mask.toDense();
      mask.dispose();
      return d;
    });
    dense.dispose();
  });
});
