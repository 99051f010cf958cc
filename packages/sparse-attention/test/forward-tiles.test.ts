import { type Tensor, type TensorInfo, tf } from '@tessera/tensor-core';
import { runProgram } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { BlockMask } from '../src/index.js';
import { flashReference } from '../src/flash/index.js';
import { FlashForwardProgram } from '../src/flash/forward.program.js';
import { workgroupBytes } from '../src/flash/kernel.js';
import { type FlashGeometry, flashUniforms, queryWorkgroups } from '../src/flash/layout.js';
import { type FlashTile, forwardBytes, forwardTile } from '../src/flash/tile.js';
import { qkv, uniform } from './cases.js';

const flat = (t: Tensor): TensorInfo => ({ dataId: t.dataId, shape: [t.size], dtype: t.dtype });

/**
 * Split-K/V tiles small enough for lavapipe's 32 KiB: the op takes its split tile (64 × 32, 45 KiB at D = 64) only
 * where the device offers 48 KiB, so these are what runs the split path's code in CI (the op's own tile on this
 * device is attention.test.ts's).
 */
const SPLIT_TILES: Record<number, FlashTile> = {
  64: { tq: 32, tk: 16, dp: 64, splitKv: true },
  40: { tq: 32, tk: 32, dp: 64, splitKv: true },
};

describeBackends(
  'flash forward tiles',
  () => {
    for (const [l, d, causal, sparse] of [
      [200, 64, true, true],
      [131, 40, false, false],
    ] as const) {
      it(`a split-K/V tile and the op's tile equal the reference (L ${l}, D ${d}${causal ? ', causal' : ''}, ${sparse ? 'sparse' : 'dense'})`, async () => {
        const h = 2;
        const { q, k, v } = qkv(1, h, l, l, d, l + d, 3);
        const [bq, bk] = [64, 32];
        const dense = tf.tidy(() => tf.greater(uniform([1, h, Math.ceil(l / bq), Math.ceil(l / bk)], 9, 0, 1), 0.5));
        const mask = BlockMask.fromDense(dense, { blockSize: [bq, bk] });
        const g: FlashGeometry = { heads: h, lq: l, lk: l, d, causal, sparse, bq, bk, scale: 0.3 };
        const lists = { kvNum: mask.kvNumBlocks, kvIdx: mask.kvIndices, qNum: mask.qNumBlocks, qIdx: mask.qIndices };
        const [refO, refLse] = flashReference({ q, k, v, ...lists }, g) as [Tensor, Tensor];
        const split = SPLIT_TILES[d] as FlashTile;
        expect(forwardBytes(d, split)).toBeLessThanOrEqual(workgroupBytes());
        for (const tile of [split, forwardTile(d, workgroupBytes())]) {
          const packed = runProgram(
            new FlashForwardProgram(h, l, d, tile, queryWorkgroups(g, tile.tq)),
            [q, k, v, mask.kvNumBlocks, mask.kvIndices].map(flat),
            flashUniforms(g, tile.tq, tile.tk),
          );
          const size = h * l * d;
          const [o, lse] = tf.tidy(() => [packed.slice(0, size).reshape(refO.shape), packed.slice(size, h * l).reshape(refLse.shape)]);
          await expectAllClose(o as Tensor, refO, { atol: 2e-5, rtol: 1e-4 });
          await expectAllClose(lse as Tensor, refLse, { atol: 2e-5, rtol: 1e-4 });
          tf.dispose([packed, o as Tensor, lse as Tensor]);
        }
        tf.dispose([q, k, v, dense, refO, refLse]);
        mask.dispose();
      });
    }
  },
  { backends: ['webgpu'] },
);
