import { type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { BlockMask } from '../src/index.js';
import { flashBackwardOp, flashOp } from '../src/flash/index.js';
import type { FlashAttrs, FlashInput } from '../src/flash/reference.js';
import { qkv, randomBlockMask, uniform } from './cases.js';

type Lists = Record<'kvNum' | 'kvIdx' | 'qNum' | 'qIdx', Tensor>;

/** A mask's lists, as the op takes them (the BlockMask owns the tensors). */
function listsOf(mask: BlockMask): Lists {
  return { kvNum: mask.kvNumBlocks, kvIdx: mask.kvIndices, qNum: mask.qNumBlocks, qIdx: mask.qIndices };
}

/** Which block grid a case uses: every block, a seeded random half, or random with some query blocks keeping none. */
type MaskKind = 'full' | 'random' | 'empty rows';

function blockGrid(kind: MaskKind, shape: [number, number, number, number], seed: number): Tensor {
  if (kind === 'full') return tf.ones(shape, 'int32');
  const random = randomBlockMask(shape, seed, 0.5);
  if (kind === 'random') return random;
  const [b, h, nq, nk] = shape;
  const cells = Int32Array.from(random.dataSync());
  random.dispose();
  for (let bh = 0; bh < b * h; bh++) {
    // query block 1 keeps nothing
    cells.fill(0, (bh * nq + 1) * nk, (bh * nq + 2) * nk);
  }
  // head (0, 0)'s query block 0 keeps only the last key block: with causal, keys all later than its queries
  cells.fill(0, 0, nk - 1);
  cells[nk - 1] = 1;
  return tf.tensor4d(cells, shape, 'int32');
}

interface Case {
  b: number;
  h: number;
  lq: number;
  lk: number;
  d: number;
  causal: boolean;
  /** null: dense. */
  blocks: [number, number, MaskKind] | null;
}

const CASES: Case[] = [
  { b: 2, h: 3, lq: 37, lk: 37, d: 16, causal: false, blocks: null },
  { b: 2, h: 3, lq: 37, lk: 37, d: 16, causal: true, blocks: null },
  { b: 1, h: 2, lq: 70, lk: 45, d: 16, causal: false, blocks: null },
  { b: 1, h: 2, lq: 45, lk: 70, d: 16, causal: true, blocks: null },
  { b: 1, h: 2, lq: 100, lk: 100, d: 64, causal: true, blocks: null },
  { b: 1, h: 1, lq: 9, lk: 13, d: 136, causal: false, blocks: null },
  { b: 2, h: 2, lq: 45, lk: 45, d: 16, causal: false, blocks: [16, 8, 'full'] },
  { b: 2, h: 2, lq: 45, lk: 45, d: 16, causal: true, blocks: [16, 8, 'full'] },
  { b: 2, h: 2, lq: 45, lk: 45, d: 16, causal: false, blocks: [16, 8, 'random'] },
  { b: 2, h: 2, lq: 45, lk: 45, d: 16, causal: true, blocks: [16, 8, 'random'] },
  { b: 1, h: 3, lq: 40, lk: 29, d: 16, causal: false, blocks: [12, 10, 'random'] },
  { b: 1, h: 2, lq: 29, lk: 40, d: 64, causal: true, blocks: [12, 10, 'random'] },
  { b: 2, h: 2, lq: 50, lk: 50, d: 16, causal: false, blocks: [16, 8, 'empty rows'] },
  { b: 1, h: 2, lq: 130, lk: 130, d: 64, causal: true, blocks: [32, 16, 'empty rows'] },
];

function title(c: Case): string {
  const mask = c.blocks === null ? 'dense' : `${c.blocks[2]} mask ${c.blocks[0]}×${c.blocks[1]}`;
  return `B ${c.b}, H ${c.h}, Lq ${c.lq}, Lk ${c.lk}, D ${c.d}, ${mask}${c.causal ? ', causal' : ''}`;
}

/** The op's inputs and attributes for a case, and what to dispose. */
function setup(c: Case, seed: number): { t: Record<FlashInput, Tensor>; attrs: FlashAttrs; dispose: () => void } {
  const { q, k, v } = qkv(c.b, c.h, c.lq, c.lk, c.d, seed, 2);
  const scale = 0.9 / Math.sqrt(c.d);
  if (c.blocks === null) {
    const stand = tf.zeros([2], 'int32');
    return {
      t: { q, k, v, kvNum: stand, kvIdx: stand, qNum: stand, qIdx: stand },
      attrs: { causal: c.causal, sparse: false, scale, bq: 1, bk: 1 },
      dispose: () => tf.dispose([q, k, v, stand]),
    };
  }
  const [bq, bk, kind] = c.blocks;
  const grid = blockGrid(kind, [c.b, c.h, Math.ceil(c.lq / bq), Math.ceil(c.lk / bk)], seed + 7);
  const mask = BlockMask.fromDense(grid, { blockSize: [bq, bk] });
  grid.dispose();
  return {
    t: { q, k, v, ...listsOf(mask) },
    attrs: { causal: c.causal, sparse: true, scale, bq, bk },
    dispose: () => {
      tf.dispose([q, k, v]);
      mask.dispose();
    },
  };
}

describeBackends(
  'flash op host kernels',
  () => {
    it('are registered for the forward and the backward', () => {
      expect(flashOp.hasKernel()).toBe(true);
      expect(flashBackwardOp.hasKernel()).toBe(true);
    });

    for (const [n, c] of CASES.entries()) {
      it(`forward equals the tfjs reference (${title(c)})`, async () => {
        const { t, attrs, dispose } = setup(c, 10 + n);
        const [o, lse] = flashOp(t, attrs) as [Tensor, Tensor];
        const [wantO, wantLse] = flashOp.reference(t, attrs) as [Tensor, Tensor];
        await expectAllClose(o, wantO, { atol: 2e-5, rtol: 1e-4 });
        // −∞ exactly where the reference has it (rows that see no key)
        await expectAllClose(lse, wantLse, { atol: 2e-5, rtol: 1e-4 });
        tf.dispose([o, lse, wantO, wantLse]);
        dispose();
      });

      it(`backward equals the VJP of the reference, with a log-sum-exp cotangent (${title(c)})`, async () => {
        const { t, attrs, dispose } = setup(c, 30 + n);
        const [o, lse] = flashOp(t, attrs) as [Tensor, Tensor];
        const dO = uniform(o.shape, 50 + n);
        const dLse = uniform(lse.shape, 60 + n);
        const inputs = { ...t, o, lse, dO, dLse };
        const ours = flashBackwardOp(inputs, attrs);
        const want = flashBackwardOp.reference(inputs, attrs);
        for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as Tensor, want[i] as Tensor, { atol: 5e-5, rtol: 1e-3 });
        tf.dispose([o, lse, dO, dLse, ours, want]);
        dispose();
      });
    }

    it('gradients through the op (host forward and backward) equal autodiff of the reference', async () => {
      for (const c of [CASES[1], CASES[9], CASES[12]] as Case[]) {
        const { t, attrs, dispose } = setup(c, 5);
        const w = uniform([c.b, c.h, c.lq, c.d], 6);
        const loss = (f: typeof flashOp.reference) => (q: Tensor, k: Tensor, v: Tensor) =>
          tf.sum(tf.mul(f({ ...t, q, k, v }, attrs)[0] as Tensor, w));
        const ours = tf.grads(loss(flashOp))([t.q, t.k, t.v]);
        const want = tf.grads(loss(flashOp.reference))([t.q, t.k, t.v]);
        for (let i = 0; i < 3; i++) await expectAllClose(ours[i] as Tensor, want[i] as Tensor, { atol: 5e-5, rtol: 1e-3 });
        tf.dispose([w, ours, want]);
        dispose();
      }
    });

    it('reads lists that broadcast over B and H, skip −1 padding and count a repeated block once', async () => {
      const { q, k, v } = qkv(2, 2, 20, 20, 8, 3);
      // one query-block row per block for every (b, h): [1, 1, 2, 3] lists, block size 10 × 8
      const kvNum = tf.tensor3d([3, 2], [1, 1, 2], 'int32');
      const kvIdx = tf.tensor4d([2, 0, 2, -1, 1, -1], [1, 1, 2, 3], 'int32');
      const t = { q, k, v, kvNum, kvIdx, qNum: kvNum, qIdx: kvIdx };
      const attrs = { causal: false, sparse: true, scale: 0.4, bq: 10, bk: 8 };
      const [o, lse] = flashOp(t, attrs) as [Tensor, Tensor];
      const [wantO, wantLse] = flashOp.reference(t, attrs) as [Tensor, Tensor];
      await expectAllClose(o, wantO, { atol: 2e-5, rtol: 1e-4 });
      await expectAllClose(lse, wantLse, { atol: 2e-5, rtol: 1e-4 });
      tf.dispose([q, k, v, kvNum, kvIdx, o, lse, wantO, wantLse]);
    });

    it('leaks no tensors, forward or backward, dense or sparse', async () => {
      for (const c of [CASES[1], CASES[12]] as Case[]) {
        const { t, attrs, dispose } = setup(c, 8);
        await expectNoLeaks(() => flashOp(t, attrs));
        await expectNoLeaks(() =>
          tf.grads((q: Tensor, k: Tensor, v: Tensor) => tf.sum(flashOp({ ...t, q, k, v }, attrs)[0] as Tensor))([t.q, t.k, t.v]),
        );
        dispose();
      }
    });
  },
  { backends: ['cpu', 'wasm'] },
);
