import { tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { twilightMask } from '../src/index.js';
import { bisectOp, minMaxQuantize } from '../src/twilight/index.js';
import { qkv, uniform } from './cases.js';

/** Smallest set of highest weights whose mass reaches p (sorted; distinct weights). */
function topP(w: number[], p: number): number[] {
  const order = w.map((_, j) => j).sort((a, b) => (w[b] as number) - (w[a] as number));
  const keep = new Array<number>(w.length).fill(0);
  let mass = 0;
  for (const j of order) {
    if (mass >= p || (w[j] as number) <= 0) break;
    keep[j] = 1;
    mass += w[j] as number;
  }
  return keep;
}

/** Twilight's block-level select-then-prune by hand (float64). */
async function bruteTwilight(
  q: tf.Tensor,
  k: tf.Tensor,
  o: { bq: number; bk: number; budget: number; p: number; bits: number; scale: number },
) {
  const [, H, L, D] = q.shape as [number, number, number, number];
  const [qa, ka] = [(await q.array()) as number[][][][], (await k.array()) as number[][][][]];
  const mean = (xs: number[][]) => [...Array(D).keys()].map((d) => xs.reduce((a, x) => a + (x[d] as number), 0) / xs.length);
  const dot = (a: number[], b: number[]) => a.reduce((s, x, d) => s + x * (b[d] as number), 0);
  const quant = (x: number[]) => {
    const lo = Math.min(...x);
    const s = (Math.max(...x) - lo) / (2 ** o.bits - 1);
    return s === 0 ? x : x.map((v) => Math.min(Math.max(Math.round((v - lo) / s), 0), 2 ** o.bits - 1) * s + lo);
  };
  const nq = Math.ceil(L / o.bq);
  const nk = Math.ceil(L / o.bk);
  const out: number[] = [];
  for (let h = 0; h < H; h++) {
    const qs = qa[0]?.[h] as number[][];
    const ks = ka[0]?.[h] as number[][];
    const kHat = ks.map(quant);
    for (let i = 0; i < nq; i++) {
      const qm = mean(qs.slice(i * o.bq, (i + 1) * o.bq));
      const s = [...Array(nk).keys()].map((j) => o.scale * dot(qm, mean(ks.slice(j * o.bk, (j + 1) * o.bk))));
      const order = s.map((_, j) => j).sort((a, b) => (s[b] as number) - (s[a] as number) || a - b);
      const selected = new Set(order.slice(0, Math.ceil(o.budget * nk - 1e-9)));
      const logits = kHat.map((kt, t) => (selected.has(Math.floor(t / o.bk)) ? o.scale * dot(qm, kt) : Number.NEGATIVE_INFINITY));
      const m = Math.max(...logits);
      const e = logits.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      const w = new Array<number>(nk).fill(0);
      e.forEach((x, t) => {
        w[Math.floor(t / o.bk)] = (w[Math.floor(t / o.bk)] as number) + x / z;
      });
      out.push(...topP(w, o.p).map((x, j) => (x && selected.has(j) ? 1 : 0)));
    }
  }
  return out;
}

describeBackends('twilightMask', () => {
  it('the bisection top-p keeps the smallest set of highest weights reaching p', async () => {
    const w = tf.tidy(() => tf.softmax(tf.mul(uniform([7, 30], 2), 4)));
    for (const p of [0.3, 0.85, 1]) {
      const kept = bisectOp({ w }, { p, eps: 1e-7 });
      const rows = Array.from(await w.data());
      const want: number[] = [];
      // p = 1: float32 rows sum to about 1, and every positive weight is kept
      for (let r = 0; r < 7; r++) want.push(...(p === 1 ? new Array<number>(30).fill(1) : topP(rows.slice(r * 30, (r + 1) * 30), p)));
      expect(Array.from(await kept.data()), `p = ${p}`).toEqual(want);
      kept.dispose();
    }
    w.dispose();
  });

  it('equals select-then-prune by hand (coarse top-k, 4-bit K re-estimate, top-p, intersection)', async () => {
    const { q, k } = qkv(1, 2, 40, 40, 8, 17, 4);
    const opts = { bq: 8, bk: 4, budget: 0.5, p: 0.7, bits: 4, scale: 0.5 };
    const mask = twilightMask(q, k, opts);
    const got = mask.toDense();
    const want = await bruteTwilight(q, k, opts);
    expect(Array.from(await got.data())).toEqual(want);
    // pruning removed blocks the selector kept
    expect(want.filter((x) => x === 1).length).toBeLessThan(0.5 * want.length);
    tf.dispose([q, k, got]);
    mask.dispose();
  });

  it('leaks no tensors', async () => {
    const { q, k } = qkv(1, 1, 16, 16, 4, 3);
    await expectNoLeaks(() => {
      twilightMask(q, k, { bq: 4, bk: 4, causal: true }).dispose();
      return undefined;
    });
    tf.dispose([q, k]);
  });
});

describe('minMaxQuantize', () => {
  it('rounds each token to 2^b levels between its min and max, and keeps constant tokens', async () => {
    const x = tf.tensor2d([
      [0, 0.1, 0.52, 1.5],
      [2, 2, 2, 2],
    ]);
    // token 0: step 0.1 at 4 bits (15 levels over 1.5)
    await expectAllClose(minMaxQuantize(x, 4), [0, 0.1, 0.5, 1.5, 2, 2, 2, 2], { atol: 1e-6 });
    await expectAllClose(minMaxQuantize(x, 1), [0, 0, 0, 1.5, 2, 2, 2, 2], { atol: 1e-6 });
    x.dispose();
  });

  it('the bisection reference in tfjs ops agrees with the typed-array kernel', async () => {
    const w = tf.tidy(() => tf.softmax(tf.mul(uniform([5, 12], 9), 3)));
    const a = bisectOp({ w }, { p: 0.6, eps: 1e-6 });
    const b = bisectOp.reference({ w }, { p: 0.6, eps: 1e-6 });
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    tf.dispose([w, a, b]);
  });
});
