import { type Tensor, tf } from '@tessera/tensor-core';
import { runProgram } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { truncatedSoftmaxOp } from '../src/closed-forms/op.js';
import { radixGrid } from '../src/closed-forms/radix-layout.js';
import { type RadixSearch, radixInputs, radixSteps } from '../src/closed-forms/radix-select.js';
import { RadixCutProgram } from '../src/closed-forms/radix-select.program.js';
import type { RadixMode } from '../src/closed-forms/radix-select.wgsl.js';
import type { TruncatedAttrs } from '../src/closed-forms/reference.js';
import { softmax, topK, topP } from '../src/index.js';
import { INF, NEG_INF, onCpu, randomLogits, rowsOf, supportOf, tiedLogits } from './cases.js';

/*
 * The sort-free kernels of `topK` and `topP` (`truncatedSoftmaxOp`: WGSL on WebGPU, a quickselect on
 * CPU and WASM) against their specification, the tfjs reference that sorts with `tf.topk`, run on CPU
 * (onCpu: on WebGPU tfjs' own cumsum can move the nucleus by a token).
 */

/**
 * The kernel equals the reference on `logits: [B, V]`: the same support token for token (NaN rows NaN
 * in both), and the same values to float32 round-off.
 */
async function expectReference(logits: Tensor, attrs: TruncatedAttrs, message = JSON.stringify(attrs)): Promise<void> {
  const q = truncatedSoftmaxOp({ logits }, attrs);
  const [expected] = (await onCpu([logits], (x) => [truncatedSoftmaxOp.reference({ logits: x as Tensor }, attrs)])) as [number[]];
  const got = await q.data();
  q.dispose();
  const differ: number[] = [];
  for (let i = 0; i < got.length && differ.length < 8; i++) {
    const a = got[i] as number;
    const b = expected[i] as number;
    if (Number.isNaN(a) !== Number.isNaN(b) || (a === 0) !== (b === 0)) differ.push(i);
  }
  expect(differ, `${message}: flat indices where the support differs`).toEqual([]);
  await expectAllClose(got, expected, { atol: 1e-7, rtol: 2e-5, message });
}

/**
 * Runs the programs of one radix select (radix-select.ts) one at a time, awaiting each, so that a cold
 * shader cache compiles one shader per turn of the event loop; returns the cut program's params.
 */
async function stepByStep(logits: Tensor, search: RadixSearch, mode: RadixMode, cut?: Tensor): Promise<Tensor> {
  const [rows, cols] = logits.shape as [number, number];
  const steps = radixSteps(rows, cols, radixGrid(rows, cols, search.splits), search, mode, cut !== undefined);
  let prev: Tensor | undefined;
  for (const [i, { program, uniforms }] of steps.entries()) {
    const out = runProgram(program, radixInputs(i, steps.length - 1, mode, logits, prev, cut), uniforms, 'int32');
    await out.data();
    prev?.dispose();
    prev = out;
  }
  return prev as Tensor;
}

/*
 * The radix select (radix-select.ts), forced on (`select: 'split'`) whatever the shape: the same cuts as
 * the reference, with one split per row and with many (`splits`: slices that do not divide V, ties that
 * straddle slices), since `useRadixSelect` gives it only rows of 16384 tokens and more.
 */
describeBackends(
  'topK and topP by radix select (truncatedSoftmaxOp, select: split)',
  () => {
    const split = (attrs: TruncatedAttrs, splits?: number): TruncatedAttrs => ({
      ...attrs,
      select: 'split',
      ...(splits ? { splits } : {}),
    });

    // first in the file: software Vulkan (lavapipe) compiles each radix shader for up to a minute under
    // load when its shader cache is cold, blocking the event loop (vitest's worker RPC gives up at 60 s),
    // so they are run one program at a time here; the tests after this one, and the large-vocabulary test
    // below whose shapes `auto` splits, then find them compiled
    it('runs each radix program: no cut, top-k, top-p, and top-p inside a top-k', async () => {
      const s = randomLogits(2, 300, 30, 4);
      const search = { temperature: 1, k: 20, p: 0.7, splits: 2 };
      const kept = await stepByStep(s, search, 'count');
      tf.dispose([kept, await stepByStep(s, search, 'mass', kept)]);
      for (const [k, p] of [
        [0, 1],
        [20, 1],
        [0, 0.7],
        [20, 0.7],
      ] as const) {
        await expectReference(s, split({ temperature: 1, k, p }, 2));
      }
      s.dispose();
    }, 600_000);

    // the cut program's two ways of loading a split's mass words (radix-select.wgsl.ts: AdvanceLoads; the bench
    // times both) write the same params, bit for bit: ties at the cut, top-k, top-p, and top-p inside a top-k.
    // The third row's logits are 700 consecutive floats from 1 (3 bytes of key shared, the last one not), so the
    // cut's own digit has many non-empty bins and its masses decide the kept mass
    it("writes the same cut with advance's lazy loads as with its eager ones", async () => {
      const near = Float32Array.from({ length: 700 }, (_, j) => 1 + ((j * 37) % 700) * 2 ** -23);
      const s = tf.tidy(() => tf.concat([tiedLogits(2, 700, 33), tf.tensor2d(near, [1, 700])]));
      const search = { temperature: 1, k: 300, p: 0.61, splits: 4 };
      const kept = await stepByStep(s, search, 'count');
      for (const [mode, cut] of [
        ['count', undefined],
        ['mass', undefined],
        ['mass', kept],
      ] as const) {
        const steps = radixSteps(3, 700, radixGrid(3, 700, search.splits), search, mode, cut !== undefined);
        const last = steps.length - 1;
        let prev: Tensor | undefined;
        for (let i = 0; i < last; i++) {
          const { program, uniforms } = steps[i] as (typeof steps)[number];
          const out = runProgram(program, radixInputs(i, last, mode, s, prev, cut), uniforms, 'int32');
          prev?.dispose();
          prev = out;
        }
        const { uniforms } = steps[last] as (typeof steps)[number];
        const [eager, lazy] = (['eager', 'lazy'] as const).map((loads) =>
          runProgram(new RadixCutProgram(3, 'truncated', loads), radixInputs(last, last, mode, s, prev, cut), uniforms, 'int32'),
        );
        expect(Array.from(await (lazy as Tensor).data()), `${mode}${cut ? ' inside a top-k' : ''}`).toEqual(
          Array.from(await (eager as Tensor).data()),
        );
        tf.dispose([prev as Tensor, eager as Tensor, lazy as Tensor]);
      }
      tf.dispose([s, kept]);
    });

    it('equals the reference on random rows for top-k, top-p, both and neither, with 1 to 7 splits a row', async () => {
      const s = randomLogits(5, 1000, 31, 4);
      for (const splits of [undefined, 3, 7]) {
        for (const [k, p, temperature] of [
          [0, 0.02, 1],
          [0, 0.3, 0.7],
          [0, 0.9, 1],
          [0, 0.999, 0.8],
          [0, 1, 1.3],
          [1, 1, 1],
          [50, 1, 0.9],
          [999, 1, 1],
          [1000, 1, 1],
          [300, 0.8, 1.1],
        ] as const) {
          await expectReference(
            s,
            split({ temperature, k, p }, splits),
            `${splits ?? 'auto'} splits, k = ${k}, p = ${p}, T = ${temperature}`,
          );
        }
      }
      s.dispose();
    });

    it('breaks ties at the cut by id, across slices', async () => {
      const s = tiedLogits(6, 700, 32);
      for (const p of [0.05, 0.2, 0.5, 0.8, 0.97]) await expectReference(s, split({ temperature: 1, k: 0, p }, 5));
      for (const k of [1, 7, 300, 699]) await expectReference(s, split({ temperature: 0.9, k, p: 1 }, 5));
      await expectReference(s, split({ temperature: 1, k: 400, p: 0.61 }, 4));
      s.dispose();
      // all equal: mass above token j is j/2000 < 0.3711 ⇔ j ≤ 742 (the 743rd tied token, in the second of
      // 3 slices); top-k 700 keeps ids 0…699
      const zeros = tf.zeros([3, 2000]);
      const q = truncatedSoftmaxOp({ logits: zeros }, split({ temperature: 1, k: 0, p: 0.3711 }, 3));
      for (const row of await rowsOf(q)) expect(supportOf(row)).toEqual(Array.from({ length: 743 }, (_, i) => i));
      const k = truncatedSoftmaxOp({ logits: zeros }, split({ temperature: 1, k: 700, p: 1 }, 3));
      for (const row of await rowsOf(k)) expect(supportOf(row)).toEqual(Array.from({ length: 700 }, (_, i) => i));
      // one slice of 66000 equal tokens, so 258 to a chunk of the id search: the 40247th tied token is the
      // 257th of its chunk, in the second block of 256 read
      const wide = tf.zeros([1, 66000]);
      const kWide = truncatedSoftmaxOp({ logits: wide }, split({ temperature: 1, k: 40247, p: 1 }, 1));
      const widths = (await rowsOf(kWide)).map(supportOf);
      expect(widths[0]?.length).toBe(40247);
      expect(widths[0]?.[40246]).toBe(40246);
      tf.dispose([wide, kWide]);
      // 8 equal tokens, p = 1/2: 4 stay (mass exactly 1/2 ranked above the fifth)
      const eight = tf.zeros([2, 8]);
      const half = truncatedSoftmaxOp({ logits: eight }, split({ temperature: 1, k: 0, p: 0.5 }, 3));
      expect((await rowsOf(half)).map(supportOf)).toEqual([
        [0, 1, 2, 3],
        [0, 1, 2, 3],
      ]);
      tf.dispose([zeros, q, k, eight, half]);
    });

    it('keeps every token for p = 1 and k = V, one for a tiny p (lowest id among tied maxima), and handles V = 1', async () => {
      const s = randomLogits(3, 300, 33, 3);
      const all = truncatedSoftmaxOp({ logits: s }, split({ temperature: 0.7, k: 0, p: 1 }, 4));
      const expected = softmax(s, { temperature: 0.7 });
      await expectAllClose(all, expected, { atol: 1e-7, rtol: 1e-5 });
      const allK = truncatedSoftmaxOp({ logits: s }, split({ temperature: 0.7, k: 300, p: 1 }, 4));
      await expectAllClose(allK, expected, { atol: 1e-7, rtol: 1e-5 });
      tf.dispose([all, allK, expected]);
      for (const p of [1e-6, 1e-30]) await expectReference(s, split({ temperature: 1, k: 0, p }, 4));
      s.dispose();
      const tied = tf.tensor2d([[0, 2, -1, 2, 2]]);
      const q = truncatedSoftmaxOp({ logits: tied }, split({ temperature: 1, k: 0, p: 1e-6 }, 2));
      expect(Array.from(await q.data())).toEqual([0, 1, 0, 0, 0]);
      const one = tf.tensor2d([[3], [-2]]);
      for (const attrs of [
        { temperature: 1, k: 0, p: 0.5 },
        { temperature: 1, k: 1, p: 1 },
        { temperature: 1, k: 0, p: 1 },
      ]) {
        const q1 = truncatedSoftmaxOp({ logits: one }, split(attrs, 4));
        expect(Array.from(await q1.data()), JSON.stringify(attrs)).toEqual([1, 1]);
        q1.dispose();
      }
      tf.dispose([tied, q, one]);
    });

    it('applies the non-finite rules: −∞ masked, +∞ tokens sharing the mass, NaN and all −∞ rows NaN', async () => {
      const s = tf.tensor2d([
        [NEG_INF, 1, NEG_INF, 0.5, -2, NEG_INF],
        [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF],
        [0, INF, 3, INF, NEG_INF, 1],
        [0, 1, Number.NaN, 2, 3, 4],
        [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, 7],
        [INF, 2, 1, 0, -1, -2],
      ]);
      for (const splits of [1, 2, 4]) {
        for (const p of [0.2, 0.6, 0.99, 1]) await expectReference(s, split({ temperature: 1, k: 0, p }, splits));
        for (const k of [1, 2, 5]) await expectReference(s, split({ temperature: 2, k, p: 1 }, splits));
        await expectReference(s, split({ temperature: 1, k: 3, p: 0.6 }, splits));
      }
      const q = await rowsOf(truncatedSoftmaxOp({ logits: s }, split({ temperature: 1, k: 0, p: 0.6 }, 2)));
      expect(supportOf(q[0] as number[])).toEqual([1]);
      expect(q[1]?.every(Number.isNaN)).toBe(true);
      expect(q[2]).toEqual([0, 0.5, 0, 0.5, 0, 0]);
      expect(q[3]?.every(Number.isNaN)).toBe(true);
      expect(q[4]).toEqual([0, 0, 0, 0, 0, 1]);
      s.dispose();
      const extreme = tf.tensor2d([[-3e38, 1, 2e38, 0]]);
      await expectReference(extreme, split({ temperature: 1e-3, k: 0, p: 0.5 }, 2));
      extreme.dispose();
    });

    it('equals the reference on rows that `auto` splits (1 × 131072, 3 × 20011), as does the one-workgroup path', async () => {
      const wide = randomLogits(1, 131072, 34, 8);
      await expectReference(wide, { temperature: 0.8, k: 0, p: 0.9 }, '1 × 131072, p = 0.9, auto');
      await expectReference(wide, { temperature: 0.8, k: 0, p: 0.9, select: 'row' }, '1 × 131072, p = 0.9, one workgroup');
      wide.dispose();
      const batch = randomLogits(3, 20011, 39, 6);
      await expectReference(batch, { temperature: 1, k: 0, p: 0.45 }, '3 × 20011, p = 0.45, auto');
      batch.dispose();
      // with ties, k and p chosen away from knife edges: for p = 0.45 alone, and for k = 5000, p = 0.6, a
      // row's cut lies within the reference's float32 cumsum error (a float64 nucleus agreed with both
      // WebGPU paths there, not with the reference)
      const tied = tiedLogits(3, 20011, 38);
      await expectReference(tied, { temperature: 1, k: 4000, p: 0.5 }, 'ties, 3 × 20011, k = 4000, p = 0.5, auto');
      tied.dispose();
    });

    it('leaks nothing', async () => {
      const s = randomLogits(3, 600, 37);
      await expectNoLeaks(() => truncatedSoftmaxOp({ logits: s }, split({ temperature: 0.9, k: 0, p: 0.8 }, 3)));
      await expectNoLeaks(() => truncatedSoftmaxOp({ logits: s }, split({ temperature: 1, k: 20, p: 0.9 }, 3)));
      await expectNoLeaks(() => truncatedSoftmaxOp({ logits: s }, split({ temperature: 1, k: 0, p: 1 }, 3)));
      s.dispose();
    });
  },
  { backends: ['webgpu'] },
);

describeBackends('topK and topP without a sort (truncatedSoftmaxOp)', (backend) => {
  it('runs a Tessera kernel on every backend', () => {
    expect(truncatedSoftmaxOp.hasKernel(), backend).toBe(true);
  });

  it('equals the reference on random rows, for several p and temperatures', async () => {
    // V not a multiple of the workgroup; p = 0.9 over 1000 tokens is too many candidates for workgroup
    // memory, so the WGSL search converges on the cut key; small p finishes on the candidate list
    const s = randomLogits(5, 1000, 31, 4);
    for (const [p, temperature] of [
      [0.02, 1],
      [0.3, 0.7],
      [0.9, 1],
      [0.95, 1.6],
      [0.999, 0.8],
      [1, 1.3],
    ] as const) {
      await expectReference(s, { temperature, k: 0, p });
    }
    s.dispose();
  });

  it('equals the reference with ties at the cut, lower ids first', async () => {
    // a grid of step 1/2: many exact ties, straddling the cut for most p
    const s = tiedLogits(6, 700, 32);
    for (const p of [0.05, 0.2, 0.5, 0.8, 0.97]) await expectReference(s, { temperature: 1, k: 0, p });
    for (const k of [1, 7, 300, 699]) await expectReference(s, { temperature: 0.9, k, p: 1 });
    s.dispose();
    // 8 equal tokens, p = 1/2: the fifth has mass exactly 1/2 below and beside it (not > 1 − p), so 4 stay
    const eight = tf.zeros([2, 8]);
    const q = topP(eight, { p: 0.5 });
    expect((await rowsOf(q)).map(supportOf)).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
    tf.dispose([eight, q]);
  });

  it('resolves ties by id when the tied tokens do not fit in workgroup memory', async () => {
    // 2000 equal logits: mass above token j is j/2000 < 0.3711 ⇔ j ≤ 742; top-k 700 keeps ids 0…699
    const s = tf.zeros([3, 2000]);
    const q = topP(s, { p: 0.3711 });
    for (const row of await rowsOf(q)) expect(supportOf(row)).toEqual(Array.from({ length: 743 }, (_, i) => i));
    const k = topK(s, { k: 700 });
    for (const row of await rowsOf(k)) expect(supportOf(row)).toEqual(Array.from({ length: 700 }, (_, i) => i));
    await expectReference(s, { temperature: 1, k: 0, p: 0.3711 });
    await expectReference(s, { temperature: 1, k: 700, p: 1 });
    tf.dispose([s, q, k]);
  });

  it('keeps every token for p = 1 (= softmax) and one token for a tiny p, the lowest id among tied maxima', async () => {
    const s = randomLogits(3, 300, 33, 3);
    const all = topP(s, { p: 1, temperature: 0.7 });
    const expected = softmax(s, { temperature: 0.7 });
    await expectAllClose(all, expected, { atol: 1e-7, rtol: 1e-5 });
    tf.dispose([all, expected]);
    for (const p of [1e-6, 1e-30]) {
      const one = topP(s, { p });
      for (const row of await rowsOf(one)) expect(supportOf(row)).toHaveLength(1);
      await expectReference(s, { temperature: 1, k: 0, p });
      one.dispose();
    }
    s.dispose();
    const tied = tf.tensor2d([[0, 2, -1, 2, 2]]);
    const q = topP(tied, { p: 1e-6 });
    expect(Array.from(await q.data())).toEqual([0, 1, 0, 0, 0]);
    tf.dispose([tied, q]);
  });

  it('applies the non-finite rules: −∞ masked, +∞ tokens sharing the mass, NaN and all −∞ rows NaN', async () => {
    const s = tf.tensor2d([
      [NEG_INF, 1, NEG_INF, 0.5, -2, NEG_INF],
      [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF],
      [0, INF, 3, INF, NEG_INF, 1],
      [0, 1, Number.NaN, 2, 3, 4],
      [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, 7],
    ]);
    for (const p of [0.2, 0.6, 0.99, 1]) await expectReference(s, { temperature: 1, k: 0, p });
    for (const k of [1, 2, 5]) await expectReference(s, { temperature: 2, k, p: 1 });
    const q = await rowsOf(topP(s, { p: 0.6 }));
    expect(supportOf(q[0] as number[])).toEqual([1]);
    expect(q[1]?.every(Number.isNaN)).toBe(true);
    expect(q[2]).toEqual([0, 0.5, 0, 0.5, 0, 0]);
    expect(q[3]?.every(Number.isNaN)).toBe(true);
    expect(q[4]).toEqual([0, 0, 0, 0, 0, 1]);
    s.dispose();
    // a finite logit becomes −∞ or +∞ under a tiny temperature, as in the reference
    const extreme = tf.tensor2d([[-3e38, 1, 2e38, 0]]);
    await expectReference(extreme, { temperature: 1e-3, k: 0, p: 0.5 });
    extreme.dispose();
  });

  it('equals the reference on large vocabularies (1 × 131072, 8 × 50000) and keeps [V] inputs as [V]', async () => {
    const wide = randomLogits(1, 131072, 34, 8);
    await expectReference(wide, { temperature: 0.8, k: 0, p: 0.9 }, '1 × 131072, p = 0.9');
    await expectReference(wide, { temperature: 1, k: 50, p: 1 }, '1 × 131072, k = 50');
    wide.dispose();
    const batch = randomLogits(8, 50000, 35, 6);
    await expectReference(batch, { temperature: 1, k: 0, p: 0.5 }, '8 × 50000, p = 0.5');
    // top-k then nucleus; the host top-k starts from a strided sample of such rows
    await expectReference(batch, { temperature: 0.7, k: 200, p: 0.8 }, '8 × 50000, k = 200, p = 0.8');
    batch.dispose();
    const tied = tiedLogits(3, 5000, 37);
    await expectReference(tied, { temperature: 1, k: 40, p: 0.61 }, 'ties, 3 × 5000, k = 40, p = 0.61');
    tied.dispose();
    const single = tf.tidy(() => tf.reshape(randomLogits(1, 4097, 36), [4097]));
    const q = topP(single, { p: 0.7 });
    expect(q.shape).toEqual([4097]);
    const rows = tf.reshape(single, [1, 4097]);
    await expectReference(rows, { temperature: 1, k: 0, p: 0.7 });
    tf.dispose([single, rows, q]);
  });

  it('leaks nothing', async () => {
    const s = randomLogits(3, 600, 37);
    const single = tf.zeros([50]);
    await expectNoLeaks(() => topP(s, { p: 0.8, temperature: 0.9 }));
    await expectNoLeaks(() => topP(single, { p: 0.5 }));
    await expectNoLeaks(() => topK(s, { k: 10 }));
    await expectNoLeaks(() => truncatedSoftmaxOp({ logits: s }, { temperature: 1, k: 20, p: 0.9 }));
    tf.dispose([s, single]);
  });
});
