import { tf } from '@tessera/tensor-core';
import { describeBackends, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { spargeV1Mask } from '../src/index.js';
import { qkv } from './cases.js';

type Rows = number[][][];

/** SpargeAttn v1's rule by hand (float64), following get_block_map_meansim step by step (papers/sparse.md C). */
async function bruteV1(
  q: tf.Tensor,
  k: tf.Tensor,
  o: { bq: number; bk: number; sim: number; cdf?: number; topK?: number; sink: boolean; causal: boolean; scale: number },
): Promise<number[]> {
  const [B, H, L, D] = q.shape as [number, number, number, number];
  const [qa, ka] = [(await q.array()) as Rows[], (await k.array()) as Rows[]];
  const blocks = (x: number[][], size: number) =>
    [...Array(Math.ceil(x.length / size)).keys()].map((i) => x.slice(i * size, (i + 1) * size));
  const mean = (xs: number[][]) => [...Array(D).keys()].map((d) => xs.reduce((a, x) => a + (x[d] as number), 0) / xs.length);
  const unit = (x: number[]) => {
    const n = Math.max(Math.hypot(...x), 1e-12);
    return x.map((v) => v / n);
  };
  const similarity = (xs: number[][]) => mean(xs.map(unit)).reduce((a, v) => a + v * v, 0);
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const qb = blocks(qa[b]?.[h] as number[][], o.bq);
      const kb = blocks(ka[b]?.[h] as number[][], o.bk);
      const kSim = kb.map((x) => similarity(x) > o.sim);
      qb.forEach((qx, i) => {
        const qSim = similarity(qx) > o.sim;
        const qm = mean(qx);
        const future = (j: number) => o.causal && j * o.bk > Math.min((i + 1) * o.bq, L) - 1;
        const s = kb.map((kx, j) =>
          !kSim[j] || future(j) ? Number.NEGATIVE_INFINITY : o.scale * mean(kx).reduce((a, v, d) => a + v * (qm[d] as number), 0),
        );
        const m = Math.max(...s);
        const e = s.map((x) => (m === Number.NEGATIVE_INFINITY ? 0 : Math.exp(x - m)));
        const z = e.reduce((a, v) => a + v, 0);
        const p = e.map((x) => (z === 0 ? 0 : x / z));
        const order = p.map((_, j) => j).sort((x, y) => (p[y] as number) - (p[x] as number) || x - y);
        let count: number;
        if (o.topK !== undefined) count = Math.max(1, Math.floor(o.topK * kb.length + 1e-9));
        else {
          let cum = 0;
          count = 0;
          for (const j of order) {
            cum += p[j] as number;
            if (cum <= (o.cdf as number)) count++;
          }
          count = Math.max(1, count);
        }
        const row = kb.map((_, j) => (!kSim[j] || !qSim ? 1 : 0));
        order.slice(0, count).forEach((j) => {
          if ((p[j] as number) > 0) row[j] = 1;
        });
        row.forEach((_, j) => {
          if (future(j)) row[j] = 0;
        });
        if (o.sink) row[0] = 1;
        out.push(...row);
      });
    }
  }
  return out;
}

describeBackends('spargeV1Mask', () => {
  // smooth tokens (a shared direction plus noise) make most blocks self-similar; some blocks are not
  const inputs = () =>
    tf.tidy(() => {
      const { q, k } = qkv(1, 2, 48, 48, 8, 31);
      const dir = tf.linspace(-1, 1, 8).reshape([1, 1, 1, 8]);
      const gate = tf.reshape(tf.tensor1d([...Array(48).keys()].map((t) => (Math.floor(t / 8) % 3 === 2 ? 0 : 1.5))), [1, 1, 48, 1]);
      return { q: tf.add(q, tf.mul(dir, gate)), k: tf.add(k, tf.mul(dir, gate)) };
    });

  for (const [name, opts] of [
    ['the CDF rule', { cdfThreshold: 0.6 }],
    ['the top-k rule with a sink', { topK: 0.3, attentionSink: true }],
    ['the CDF rule, causal', { cdfThreshold: 0.5, causal: true }],
  ] as const) {
    it(`equals get_block_map_meansim by hand: ${name}`, async () => {
      const { q, k } = inputs();
      const mask = spargeV1Mask(q, k, { bq: 8, bk: 4, simThreshold: 0.3, scale: 0.5, ...opts });
      const want = await bruteV1(q, k, {
        bq: 8,
        bk: 4,
        sim: 0.3,
        cdf: 'cdfThreshold' in opts ? opts.cdfThreshold : undefined,
        topK: 'topK' in opts ? opts.topK : undefined,
        sink: 'attentionSink' in opts,
        causal: 'causal' in opts,
        scale: 0.5,
      });
      const got = mask.toDense();
      expect(Array.from(await got.data())).toEqual(want);
      // the inputs exercise both gates: some blocks forced dense, some selected
      expect(want.some((x) => x === 0) && want.some((x) => x === 1)).toBe(true);
      tf.dispose([q, k, got]);
      mask.dispose();
    });
  }

  it('leaks no tensors', async () => {
    const { q, k } = inputs();
    await expectNoLeaks(() => {
      spargeV1Mask(q, k, { bq: 8, bk: 4 }).dispose();
      return undefined;
    });
    tf.dispose([q, k]);
  });
});
