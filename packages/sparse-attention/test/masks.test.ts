import { tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks, recordPrograms } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { BlockMask, blockScores, blockSparseAttention, hybridMask, topKMask, topPMask } from '../src/index.js';
import { blockScoresOp, selectListsOp, selectOp } from '../src/masks/op.js';
import { selectBlocks, toBlockMask } from '../src/masks/select.js';
import { qkv, uniform } from './cases.js';

/** Counts the WGSL programs `fn` runs on the active WebGPU backend. */
function countPrograms<T>(fn: () => T): { result: T; programs: string[] } {
  const { result, programs } = recordPrograms(fn);
  return { result, programs: programs.map((p) => p.shaderKey) };
}

/** Mean-pooled block probabilities by hand (float64): the oracle of blockScores. */
async function bruteScores(q: tf.Tensor, k: tf.Tensor, bq: number, bk: number, scale: number, causal: boolean): Promise<number[]> {
  const [B, H, L, D] = q.shape as [number, number, number, number];
  const Lk = k.shape[2] as number;
  const [qa, ka] = await Promise.all([q.data(), k.data()]);
  const pool = (a: ArrayLike<number>, bh: number, len: number, size: number, i: number): number[] => {
    const out = new Array<number>(D).fill(0);
    const end = Math.min((i + 1) * size, len);
    for (let t = i * size; t < end; t++) for (let d = 0; d < D; d++) out[d] = (out[d] as number) + (a[(bh * len + t) * D + d] as number);
    return out.map((x) => x / (end - i * size));
  };
  const nq = Math.ceil(L / bq);
  const nk = Math.ceil(Lk / bk);
  const out: number[] = [];
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < nq; i++) {
      const qi = pool(qa, bh, L, bq, i);
      const s = [...Array(nk).keys()].map((j) => {
        if (causal && j * bk > Math.min((i + 1) * bq, L) - 1) return Number.NEGATIVE_INFINITY;
        const kj = pool(ka, bh, Lk, bk, j);
        return scale * qi.reduce((acc, x, d) => acc + x * (kj[d] as number), 0);
      });
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      out.push(...e.map((x) => x / z));
    }
  }
  return out;
}

/** The selection rules by hand: sort (score desc, index asc), running mass. */
function bruteSelect(row: number[], k: number, pBefore: number, pThrough: number): number[] {
  const order = row.map((_, j) => j).sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
  const keep = new Array<number>(row.length).fill(0);
  let before = 0;
  order.forEach((j, rank) => {
    const s = row[j] as number;
    if (s > 0 && (rank < k || before < pBefore || before + s <= pThrough)) keep[j] = 1;
    before += s;
  });
  return keep;
}

describeBackends('blockScores', () => {
  for (const [l, bq, bk, causal] of [
    [40, 16, 8, false],
    [45, 16, 8, true],
    [37, 10, 6, true],
  ] as const) {
    it(`equals mean-pooled softmax by hand (L ${l}, blocks ${bq}×${bk}${causal ? ', causal' : ''})`, async () => {
      const { q, k } = qkv(1, 2, l, l, 8, l + bq, 3);
      const scores = blockScores(q, k, { bq, bk, causal, scale: 0.5 });
      expect(scores.shape).toEqual([1, 2, Math.ceil(l / bq), Math.ceil(l / bk)]);
      await expectAllClose(scores, await bruteScores(q, k, bq, bk, 0.5, causal), { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([q, k, scores]);
    });
  }

  // B·H > 1, ragged lengths, Lq ≠ Lk, and rows of more than 256 key blocks (several per thread)
  for (const [b, h, lq, lk, bq, bk, causal] of [
    [2, 3, 45, 45, 16, 8, true],
    [2, 2, 37, 70, 10, 6, false],
    [1, 2, 300, 300, 7, 1, true],
    [1, 1, 20, 600, 20, 2, false],
  ] as const) {
    it(`equals the tfjs composite and the oracle (B ${b}, H ${h}, Lq ${lq}, Lk ${lk}, blocks ${bq}×${bk}${causal ? ', causal' : ''})`, async () => {
      const { q, k } = qkv(b, h, lq, lk, 8, lq + lk, 2);
      const attrs = { bq, bk, causal, scale: 0.4 };
      const ours = blockScores(q, k, attrs);
      const ref = blockScoresOp.reference({ q, k }, attrs);
      expect(ours.shape).toEqual([b, h, Math.ceil(lq / bq), Math.ceil(lk / bk)]);
      await expectAllClose(ours, ref, { atol: 1e-5, rtol: 1e-5 });
      await expectAllClose(ours, await bruteScores(q, k, bq, bk, 0.4, causal), { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([q, k, ours, ref]);
    });
  }

  // the pooling's lanes: D = 64 (4 lanes of every 4th token, as at the benchmark's shapes), D = 100 (2 lanes, 56
  // idle threads), D = 300 (> 256: one lane, a thread takes two columns)
  for (const [d, l, bq, bk] of [
    [64, 300, 128, 64],
    [100, 90, 40, 16],
    [300, 50, 16, 8],
  ] as const) {
    it(`equals the tfjs composite and the oracle at D ${d} (L ${l}, blocks ${bq}×${bk}, causal)`, async () => {
      const { q, k } = qkv(1, 2, l, l, d, d + l, 2);
      const attrs = { bq, bk, causal: true, scale: 0.3 };
      const ours = blockScores(q, k, attrs);
      await expectAllClose(ours, blockScoresOp.reference({ q, k }, attrs), { atol: 1e-5, rtol: 1e-5 });
      await expectAllClose(ours, await bruteScores(q, k, bq, bk, 0.3, true), { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([q, k, ours]);
    });
  }

  it('is differentiable in q and k: the gradient of the composite', async () => {
    const { q, k } = qkv(1, 2, 24, 30, 4, 9, 2);
    const w = uniform([1, 2, 3, 5], 12);
    const attrs = { bq: 8, bk: 6, causal: false, scale: 0.5 };
    const loss = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), w));
    const ours = tf.grads(loss((a, b) => blockScores(a, b, attrs)))([q, k]);
    const ref = tf.grads(loss((a, b) => blockScoresOp.reference({ q: a, k: b }, attrs)))([q, k]);
    for (let i = 0; i < 2; i++) await expectAllClose(ours[i] as tf.Tensor, ref[i] as tf.Tensor, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([q, k, w, ...ours, ...ref]);
  });

  it('defaults to 128 × 64 blocks and a D^-1/2 scale; leaks nothing', async () => {
    const { q, k } = qkv(1, 1, 200, 200, 16, 1);
    const scores = blockScores(q, k);
    expect(scores.shape).toEqual([1, 1, 2, 4]);
    await expectAllClose(scores, await bruteScores(q, k, 128, 64, 0.25, false), { atol: 1e-5, rtol: 1e-4 });
    await expectNoLeaks(() => blockScores(q, k, { causal: true }));
    tf.dispose([q, k, scores]);
  });
});

describeBackends('block selection (hybridMask, topKMask, topPMask)', (backend) => {
  const rows = 6;
  const nk = 13;
  const makeScores = () => tf.tidy(() => tf.reshape(tf.softmax(tf.mul(uniform([rows, nk], 21), 3)), [1, 2, 3, nk]));

  for (const [name, build, rule] of [
    ['hybridMask', (s: tf.Tensor) => hybridMask(s, { topK: 0.1, topP: 0.5, bq: 4, bk: 2 }), [2, 0.5, -1]],
    ['hybridMask defaults (k 0.03, p 0.2)', (s: tf.Tensor) => hybridMask(s, { bq: 4, bk: 2 }), [1, 0.2, -1]],
    ['topKMask', (s: tf.Tensor) => topKMask(s, { topK: 0.3, bq: 4, bk: 2 }), [4, 0, -1]],
    ['topPMask', (s: tf.Tensor) => topPMask(s, { topP: 0.7, bq: 4, bk: 2 }), [0, 0.7, -1]],
  ] as const) {
    it(`${name} keeps what the rule keeps, by hand`, async () => {
      const scores = makeScores();
      const mask = build(scores);
      const data = Array.from(await scores.data());
      const want: number[] = [];
      for (let r = 0; r < rows; r++) want.push(...bruteSelect(data.slice(r * nk, (r + 1) * nk), rule[0], rule[1], rule[2]));
      const got = mask.toDense();
      expect(Array.from(await got.data())).toEqual(want);
      expect(mask.blockSize).toEqual([4, 2]);
      tf.dispose([scores, got]);
      mask.dispose();
    });
  }

  it('builds the lists the tfjs reference builds, and those of selecting then compacting (rows of 300 blocks, ties, zeros)', async () => {
    const [b, h, nq, nk] = [2, 2, 3, 300];
    // zeros in the tail of some rows (as causal rows have); a rounded copy has ties
    const [scores, tied] = tf.tidy(() => {
      const raw = tf.softmax(tf.mul(uniform([b, h, nq, nk], 31), 4));
      const tail = tf.less(tf.range(0, nk, 1, 'int32'), tf.reshape(tf.tensor1d([300, 120, 7], 'int32'), [1, 1, nq, 1]));
      const normalise = (x: tf.Tensor) => {
        const masked = tf.where(tail, x, tf.zerosLike(x));
        return tf.div(masked, tf.sum(masked, -1, true));
      };
      return [normalise(raw), normalise(tf.round(tf.mul(raw, 2000)))];
    }) as [tf.Tensor, tf.Tensor];
    for (const attrs of [
      { k: 9, pBefore: 0.3137, pThrough: -1 },
      { k: 0, pBefore: 0.9071, pThrough: -1 },
      { k: 1, pBefore: 0, pThrough: 0.5113 },
    ]) {
      // the reference sorts (tf.topk) and sums in sorted order: compared where no ties or near-threshold sums
      const ours = selectListsOp({ scores }, attrs);
      const ref = selectListsOp.reference({ scores }, attrs);
      expect(ours).toHaveLength(2);
      for (let i = 0; i < 2; i++) {
        expect((ours[i] as tf.Tensor).shape).toEqual((ref[i] as tf.Tensor).shape);
        expect(Array.from(await (ours[i] as tf.Tensor).data())).toEqual(Array.from(await (ref[i] as tf.Tensor).data()));
      }
      // the dense selection program and the compaction share the rule's arithmetic: equal on ties too
      const fused = selectListsOp({ scores: tied }, attrs);
      const viaDense = toBlockMask(selectBlocks(tied, attrs), 4, 2);
      const lists = [viaDense.kvIndices, viaDense.kvNumBlocks];
      for (let i = 0; i < 2; i++) {
        expect(Array.from(await (fused[i] as tf.Tensor).data())).toEqual(Array.from(await (lists[i] as tf.Tensor).data()));
      }
      tf.dispose([...ours, ...ref, ...fused]);
      viaDense.dispose();
    }
    tf.dispose([scores, tied]);
  });

  it.runIf(backend === 'webgpu')(
    'runs blockScores in 2 WGSL programs and hybridMask in 1; the transpose (2) and sparsity (1) on first access, once',
    async () => {
      const { q, k } = qkv(1, 2, 45, 45, 8, 3);
      const scores = countPrograms(() => blockScores(q, k, { bq: 16, bk: 8, causal: true }));
      expect(scores.programs).toHaveLength(2);
      const mask = countPrograms(() => hybridMask(scores.result, { bq: 16, bk: 8 }));
      // select, compact and count in one program writing both lists: nothing the forward does not read
      expect(mask.programs).toEqual(['tessera_block_select_lists_128_256_32']);
      const m = mask.result;
      expect(countPrograms(() => m.qIndices).programs).toEqual(['tessera_block_mask_column_lists_64', 'tessera_block_mask_list_count_128']);
      expect(countPrograms(() => [m.qNumBlocks, m.qIndices]).programs).toHaveLength(0);
      expect(countPrograms(() => m.sparsity).programs).toEqual(['tessera_block_mask_sparsity_256']);
      expect(countPrograms(() => m.sparsity).programs).toHaveLength(0);
      // the lazily made lists are those of the dense round trip
      const viaDense = BlockMask.fromDense(m.toDense(), { blockSize: [16, 8] });
      expect(Array.from(await m.qIndices.data())).toEqual(Array.from(await viaDense.qIndices.data()));
      expect(Array.from(await m.qNumBlocks.data())).toEqual(Array.from(await viaDense.qNumBlocks.data()));
      tf.dispose([q, k, scores.result]);
      m.dispose();
      viaDense.dispose();
    },
  );

  it.runIf(backend === 'webgpu')(
    'blockSparseAttention: the forward alone never makes the transpose; under a gradient tape it does, once per mask',
    () => {
      const { q, k, v } = qkv(1, 2, 40, 40, 8, 5);
      const scores = blockScores(q, k, { bq: 8, bk: 8 });
      const mask = hybridMask(scores, { topK: 0.4, topP: 0.5, bq: 8, bk: 8 });
      const fwd = countPrograms(() => blockSparseAttention(q, k, v, mask));
      // the flash program and the two copies out of its packed output
      expect(fwd.programs).toHaveLength(3);
      expect(countPrograms(() => mask.sparsity).programs).toHaveLength(1);
      const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(blockSparseAttention(a, b, c, mask));
      const first = countPrograms(() => tf.grads(loss)([q, k, v]));
      const transposes = (p: string[]) => p.filter((key) => key.startsWith('tessera_block_mask_column_lists')).length;
      expect(transposes(first.programs)).toBe(1);
      const second = countPrograms(() => tf.grads(loss)([q, k, v]));
      expect(transposes(second.programs)).toBe(0);
      // the transpose's two programs are the whole difference: 3 forward, the sum, 7 backward
      expect(first.programs).toHaveLength(second.programs.length + 2);
      tf.dispose([q, k, v, scores, fwd.result, ...first.result, ...second.result]);
      mask.dispose();
    },
  );

  it('the union is the union of the two single rules', async () => {
    const scores = makeScores();
    const union = hybridMask(scores, { topK: 0.2, topP: 0.4, bq: 1, bk: 1 });
    const k = topKMask(scores, { topK: 0.2, bq: 1, bk: 1 });
    const p = topPMask(scores, { topP: 0.4, bq: 1, bk: 1 });
    const [u, a, b] = await Promise.all([union.toDense().data(), k.toDense().data(), p.toDense().data()]);
    expect(Array.from(u)).toEqual(Array.from(a).map((x, i) => Math.max(x, b[i] as number)));
    tf.dispose(scores);
    for (const m of [union, k, p]) m.dispose();
  });

  it('breaks ties by the lower block index and never keeps a block of score 0', async () => {
    // causal-style row: two tied leaders, a zero tail
    const scores = tf.tensor4d([0.25, 0.25, 0.2, 0.2, 0.1, 0, 0, 0], [1, 1, 1, 8]);
    const top3 = topKMask(scores, { topK: 3 / 8, bq: 1, bk: 1 });
    expect(Array.from(await top3.toDense().data())).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    const all = topKMask(scores, { topK: 1, bq: 1, bk: 1 });
    expect(Array.from(await all.toDense().data())).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
    // p = 0.5 is reached exactly by the two leaders: the smallest set reaching p
    const half = topPMask(scores, { topP: 0.5, bq: 1, bk: 1 });
    expect(Array.from(await half.toDense().data())).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    const p1 = topPMask(scores, { topP: 1, bq: 1, bk: 1 });
    expect(Array.from(await p1.toDense().data())).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
    tf.dispose(scores);
    for (const m of [top3, all, half, p1]) m.dispose();
  });

  it('top-p fails on skewed rows where top-k does not, and the union keeps both (papers/sparse.md A.4)', async () => {
    const scores = tf.tensor4d([0.6, 0.2, 0.1, 0.05, 0.05], [1, 1, 1, 5]);
    const p = topPMask(scores, { topP: 0.6, bq: 1, bk: 1 });
    const u = hybridMask(scores, { topK: 0.6, topP: 0.6, bq: 1, bk: 1 });
    expect(Array.from(await p.toDense().data())).toEqual([1, 0, 0, 0, 0]);
    expect(Array.from(await u.toDense().data())).toEqual([1, 1, 1, 0, 0]);
    tf.dispose(scores);
    p.dispose();
    u.dispose();
  });

  it('leaks no tensors, and a mask built under tf.grads is a constant for the gradient', async () => {
    const scores = makeScores();
    await expectNoLeaks(() => {
      hybridMask(scores, { bq: 1, bk: 1 }).dispose();
      return undefined;
    });
    // a mask built from the differentiated q inside tf.grads is a constant: the gradient exists and is
    // the one of attention under that fixed mask
    const { q, k, v } = qkv(1, 1, 8, 8, 4, 3, 3);
    const opts = { topK: 0.5, topP: 0.5, bq: 4, bk: 4 };
    // the BlockMask's tensors, made inside tf.grads, are freed with its scope like any intermediate
    const [dq] = tf.grads((a: tf.Tensor) => blockSparseAttention(a, k, v, hybridMask(blockScores(a, k, { bq: 4, bk: 4 }), opts)))([q]);
    const scoresQ = blockScores(q, k, { bq: 4, bk: 4 });
    const fixed = hybridMask(scoresQ, opts);
    const [ref] = tf.grads((a: tf.Tensor) => blockSparseAttention(a, k, v, fixed))([q]);
    await expectAllClose(dq as tf.Tensor, ref as tf.Tensor, { atol: 1e-6, rtol: 1e-5 });
    fixed.dispose();
    scoresQ.dispose();
    tf.dispose([dq, ref]);
    tf.dispose([scores, q, k, v]);
  });
});

describe('block selection oracle', () => {
  it('the tfjs reference of the selection agrees with the typed-array kernel (cpu)', async () => {
    const s = tf.tidy(() => tf.softmax(tf.mul(uniform([5, 17], 4), 2)));
    for (const attrs of [
      { k: 3, pBefore: 0.4, pThrough: -1 },
      { k: 1, pBefore: 0, pThrough: 0.7 },
    ]) {
      const a = selectOp({ scores: s }, attrs);
      const b = selectOp.reference({ scores: s }, attrs);
      expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
      tf.dispose([a, b]);
    }
    s.dispose();
  });
});

/**
 * The selection rule exactly as select.wgsl.ts's keepBlock computes it: rank by (score desc, index asc), the
 * mass before a block summed in float32 in index order. The one-program lists must match it bit for bit.
 */
function keepBlockExact(row: Float32Array, k: number, pBefore: number): number[] {
  const n = row.length;
  const order = Array.from(row.keys()).sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
  const before = new Uint8Array(n);
  const keep = new Array<number>(n).fill(0);
  // rank r's block is kept when positive and r < k or its mass before (the top r, in index order) < pBefore
  for (let r = 0; r < n; r++) {
    const j = order[r] as number;
    if (!((row[j] as number) > 0)) break;
    let mass = 0;
    if (r >= k) for (let i = 0; i < n; i++) if (before[i]) mass = Math.fround(mass + (row[i] as number));
    if (r >= k && !(mass < pBefore)) break;
    keep[j] = 1;
    before[j] = 1;
  }
  return keep;
}

/** kvIndices and kvNumBlocks of dense kept flags, by hand. */
function listsOf(kept: number[], rows: number, nk: number): [number[], number[]] {
  const idx: number[] = [];
  const num: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = kept.slice(r * nk, (r + 1) * nk).flatMap((x, j) => (x ? [j] : []));
    idx.push(...row, ...new Array<number>(nk - row.length).fill(-1));
    num.push(row.length);
  }
  return [idx, num];
}

describeBackends(
  'block selection to lists (one program on WebGPU)',
  () => {
    async function expectRule(scores: tf.Tensor, k: number, pBefore: number): Promise<void> {
      const [b, h, nq, nk] = scores.shape as [number, number, number, number];
      const rows = b * h * nq;
      const data = (await scores.data()) as Float32Array;
      const kept: number[] = [];
      for (let r = 0; r < rows; r++) kept.push(...keepBlockExact(data.subarray(r * nk, (r + 1) * nk), k, pBefore));
      const [idx, num] = listsOf(kept, rows, nk);
      const lists = selectListsOp({ scores }, { k, pBefore, pThrough: -1 });
      expect(Array.from(await (lists[0] as tf.Tensor).data())).toEqual(idx);
      expect(Array.from(await (lists[1] as tf.Tensor).data())).toEqual(num);
      // and the dense selection program (today's O(Nk²) ranking) agrees
      const viaDense = toBlockMask(selectBlocks(scores, { k, pBefore, pThrough: -1 }), 1, 1);
      expect(Array.from(await viaDense.kvIndices.data())).toEqual(idx);
      tf.dispose(lists);
      viaDense.dispose();
    }

    // Nk as at L = 16384 and 65536 (256 and 1024 key blocks) and the limit (4096), not powers of 2 (ragged L), one and few blocks
    for (const [nq, nk] of [
      [4, 256],
      [3, 1024],
      [2, 4096],
      [4, 1000],
      [5, 257],
      [3, 5],
      [2, 1],
    ] as const) {
      it(`keeps exactly keepBlock's blocks, in order, with their counts (Nq ${nq}, Nk ${nk})`, async () => {
        const scores = tf.tidy(() => tf.softmax(tf.mul(uniform([1, 2, nq, nk], 40 + nk), 6)));
        for (const [k, p] of [
          [Math.ceil(0.03 * nk), 0.2],
          [1, 0.9],
          [Math.ceil(0.5 * nk), 0.05],
          [0, 1],
          [nk, 0],
        ] as const) {
          await expectRule(scores, k, p);
        }
        scores.dispose();
      });
    }

    // one width per shader variant: the row in workgroup memory (W ≤ 256, ≤ 1024) and in global memory (≤ 4096)
    for (const [nk, variant] of [
      [200, 'tessera_block_select_lists_128_256_32'],
      [700, 'tessera_block_select_lists_256_1024_32'],
      [3000, 'tessera_block_select_lists_256_4096_32_global'],
    ] as const) {
      it(`breaks ties by the lower index, at the cut too (rows of few distinct scores, zeros, causal tails; Nk ${nk})`, async () => {
        const nq = 4;
        const scores = tf.tidy(() => {
          const raw = tf.floor(tf.mul(uniform([1, 1, nq, nk], 77, 0, 1), 5));
          // row i sees its first Nk, 3/7 Nk, 40, 1 blocks, as causal rows do
          const seenLengths = tf.tensor1d([nk, Math.round((3 * nk) / 7), 40, 1], 'int32');
          const seen = tf.less(tf.range(0, nk, 1, 'int32'), tf.reshape(seenLengths, [1, 1, nq, 1]));
          const masked = tf.where(seen, tf.add(raw, 1), tf.zerosLike(raw));
          return tf.div(masked, tf.sum(masked, -1, true));
        });
        const run = countPrograms(() => selectListsOp({ scores }, { k: 7, pBefore: 0.2, pThrough: -1 }));
        expect(run.programs).toEqual([variant]);
        tf.dispose(run.result);
        for (const [k, p] of [
          [7, 0.2],
          [0, 0.5],
          [250, 0],
          [21, 0.33],
        ] as const) {
          await expectRule(scores, k, p);
        }
        scores.dispose();
      });
    }

    // each shader variant: the row in workgroup memory (W ≤ 256, ≤ 1024) and in global memory
    for (const nk of [200, 600, 4096]) {
      it(`rounds the mass as keepBlock does: p at the float32 mass before a block, and one ulp above it (Nk ${nk})`, async () => {
        // masses whose float32 sums in index order and in rank order differ
        const scores = tf.tidy(() => tf.softmax(tf.mul(uniform([1, 1, 1, nk], 5), 9)));
        const row = (await scores.data()) as Float32Array;
        const order = Array.from(row.keys()).sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
        for (const r of [3, Math.floor(nk / 15), Math.floor((nk * 17) / 60)]) {
          const inTop = new Set(order.slice(0, r));
          let mass = 0;
          row.forEach((x, i) => {
            if (inTop.has(i)) mass = Math.fround(mass + x);
          });
          const above = new Float32Array(
            new Uint32Array([(new Uint32Array(new Float32Array([mass]).buffer)[0] as number) + 1]).buffer,
          )[0] as number;
          await expectRule(scores, 1, mass);
          await expectRule(scores, 1, above);
        }
        scores.dispose();
      });
    }

    it('leaks nothing', async () => {
      const scores = tf.tidy(() => tf.softmax(uniform([1, 1, 2, 300], 3)));
      await expectNoLeaks(() => selectListsOp({ scores }, { k: 3, pBefore: 0.3, pThrough: -1 }));
      scores.dispose();
    });
    // the typed-array kernel of cpu and wasm sums the mass in rank order, so it may round the other way
  },
  { backends: ['webgpu'] },
);
