import { type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { type FastWeights, fastWeightApply, fastWeightColumnNorms, fastWeightUpdate, lactLearningRates } from '../src/lact/index.js';
import { newtonSchulz5 } from '../src/lact/newton-schulz.js';
import { chunkGradients } from '../src/lact/reference.js';

/*
 * The oracle: LaCT's update written plainly in float64 JS, one token at a time (lact_nvs/lact_ttt.py, re-stated):
 * per (b, h), g = k_i·w0, u = k_i·w2, h = silu(g)⊙u, dh = w1·v_i; Δw1 += η1 h⊗v_i, Δw0 += η0 k_i⊗(dh⊙u⊙silu′(g)),
 * Δw2 += η2 k_i⊗(dh⊙silu(g)); Newton–Schulz on each Δ; W + Δ; columns rescaled to the target norms.
 */

/** A row-major matrix in float64. */
interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

const mat = (rows: number, cols: number, data?: ArrayLike<number>): Mat => ({
  rows,
  cols,
  data: data ? Float64Array.from(data) : new Float64Array(rows * cols),
});
const at = (m: Mat, i: number, j: number): number => m.data[i * m.cols + j] as number;

function matmul(a: Mat, b: Mat): Mat {
  const out = mat(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < b.cols; j++) {
      let sum = 0;
      for (let k = 0; k < a.cols; k++) sum += at(a, i, k) * at(b, k, j);
      out.data[i * b.cols + j] = sum;
    }
  return out;
}

function transpose(a: Mat): Mat {
  const out = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = at(a, i, j);
  return out;
}

const combine = (a: Mat, s: number, b: Mat, t: number): Mat =>
  mat(
    a.rows,
    a.cols,
    a.data.map((x, i) => s * x + t * (b.data[i] as number)),
  );
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const silu = (x: number): number => x * sigmoid(x);

/** zeropower_via_newtonschulz5 in float64. */
function newtonSchulzJs(g: Mat, steps: number): Mat {
  const [a, b, c] = [3.4445, -4.775, 2.0315];
  const tall = g.rows > g.cols;
  let x = tall ? transpose(g) : g;
  const fro = Math.sqrt(x.data.reduce((s, v) => s + v * v, 0));
  x = mat(
    x.rows,
    x.cols,
    x.data.map((v) => v / (fro + 1e-7)),
  );
  for (let i = 0; i < steps; i++) {
    const gram = matmul(x, transpose(x));
    const poly = combine(gram, b, matmul(gram, gram), c);
    x = combine(x, a, matmul(poly, x), 1);
  }
  return tall ? transpose(x) : x;
}

function columnNormsJs(w: Mat): number[] {
  return Array.from({ length: w.cols }, (_, j) =>
    Math.sqrt(Array.from({ length: w.rows }, (_, i) => at(w, i, j) ** 2).reduce((s, v) => s + v, 0)),
  );
}

/** One (b, h) slice: matrices w0 [Dk, Dh], w1 [Dh, Dv], w2 [Dk, Dh]; tokens as rows. */
interface Slice {
  w0: Mat;
  w1: Mat;
  w2: Mat;
}

function applyJs(w: Slice, q: Mat): Mat {
  const out = mat(q.rows, w.w1.cols);
  for (let i = 0; i < q.rows; i++) {
    const x = mat(1, q.cols, q.data.subarray(i * q.cols, (i + 1) * q.cols));
    const g = matmul(x, w.w0);
    const u = matmul(x, w.w2);
    const h = mat(
      1,
      g.cols,
      g.data.map((gv, j) => silu(gv) * (u.data[j] as number)),
    );
    out.data.set(matmul(h, w.w1).data, i * out.cols);
  }
  return out;
}

/** The chunk gradient as a sum of per-token outer products. */
function gradientsJs(w: Slice, k: Mat, v: Mat, lr: Mat): Slice {
  const dk = k.cols;
  const dh = w.w0.cols;
  const dv = v.cols;
  const g0 = mat(dk, dh);
  const g1 = mat(dh, dv);
  const g2 = mat(dk, dh);
  for (let i = 0; i < k.rows; i++) {
    const ki = Array.from({ length: dk }, (_, a) => at(k, i, a));
    const vi = Array.from({ length: dv }, (_, a) => at(v, i, a));
    for (let j = 0; j < dh; j++) {
      let g = 0;
      let u = 0;
      for (let a = 0; a < dk; a++) {
        g += (ki[a] as number) * at(w.w0, a, j);
        u += (ki[a] as number) * at(w.w2, a, j);
      }
      let dHidden = 0;
      for (let a = 0; a < dv; a++) dHidden += at(w.w1, j, a) * (vi[a] as number);
      const s = sigmoid(g);
      const dGate = dHidden * u * s * (1 + g * (1 - s));
      const dLinear = dHidden * silu(g);
      for (let a = 0; a < dv; a++) g1.data[j * dv + a] = at(g1, j, a) + at(lr, i, 1) * silu(g) * u * (vi[a] as number);
      for (let a = 0; a < dk; a++) {
        g0.data[a * dh + j] = at(g0, a, j) + at(lr, i, 0) * (ki[a] as number) * dGate;
        g2.data[a * dh + j] = at(g2, a, j) + at(lr, i, 2) * (ki[a] as number) * dLinear;
      }
    }
  }
  return { w0: g0, w1: g1, w2: g2 };
}

type Key = keyof Slice;
const KEYS: Key[] = ['w0', 'w1', 'w2'];

function updateJs(w: Slice, k: Mat, v: Mat, lr: Mat, steps: number, norms?: Record<Key, number[]>): Slice {
  const grads = gradientsJs(w, k, v, lr);
  const out = {} as Slice;
  for (const key of KEYS) {
    const target = norms?.[key] ?? columnNormsJs(w[key]);
    const delta = steps > 0 ? newtonSchulzJs(grads[key], steps) : grads[key];
    const updated = combine(w[key], 1, delta, 1);
    const now = columnNormsJs(updated);
    out[key] = mat(
      updated.rows,
      updated.cols,
      updated.data.map((x, idx) => (x / ((now[idx % updated.cols] as number) + 1e-5)) * (target[idx % updated.cols] as number)),
    );
  }
  return out;
}

/** Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations, ascending. */
function symmetricEigenvalues(m: Mat): number[] {
  const n = m.rows;
  const a = Float64Array.from(m.data);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (a[p * n + q] as number) ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((a[q * n + q] as number) - (a[p * n + p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < n; r++) {
          const arp = a[r * n + p] as number;
          const arq = a[r * n + q] as number;
          a[r * n + p] = c * arp - s * arq;
          a[r * n + q] = s * arp + c * arq;
        }
        for (let r = 0; r < n; r++) {
          const apr = a[p * n + r] as number;
          const aqr = a[q * n + r] as number;
          a[p * n + r] = c * apr - s * aqr;
          a[q * n + r] = s * apr + c * aqr;
        }
      }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i] as number).sort((x, y) => x - y);
}

/** Singular values of a small matrix (from the smaller Gram matrix), ascending. */
function singularValues(m: Mat): number[] {
  const gram = m.rows <= m.cols ? matmul(m, transpose(m)) : matmul(transpose(m), m);
  return symmetricEigenvalues(gram).map((e) => Math.sqrt(Math.max(e, 0)));
}

/** A seeded stream of uniforms in [−1, 1) (mulberry32), rounded to float32 so that tensors and oracle see the same values. */
function uniforms(seed: number, n: number, scale = 1, offset = 0): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = Math.fround(offset + scale * (2 * u - 1));
  }
  return out;
}

/** L2-normalise each row of `[rows, cols]` data (as the LaCT layer does to q and k), in float32. */
function unitRows(data: Float64Array, cols: number): Float64Array {
  const out = new Float64Array(data.length);
  for (let r = 0; r < data.length / cols; r++) {
    const row = data.subarray(r * cols, (r + 1) * cols);
    const n = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    row.forEach((v, j) => {
      out[r * cols + j] = Math.fround(v / n);
    });
  }
  return out;
}

const [B, H, L, LQ, DK, DH, DV] = [2, 2, 5, 4, 3, 4, 2];
const BH = B * H;

/** The test case as flat float32-exact arrays: `[B, H, rows, cols]` row-major. */
interface Case {
  w0: Float64Array;
  w1: Float64Array;
  w2: Float64Array;
  k: Float64Array;
  v: Float64Array;
  lr: Float64Array;
  q: Float64Array;
  /** Random cotangent of the output `[B, H, LQ, DV]`. */
  r: Float64Array;
}

const SHAPES: Record<keyof Case, [number, number]> = {
  w0: [DK, DH],
  w1: [DH, DV],
  w2: [DK, DH],
  k: [L, DK],
  v: [L, DV],
  lr: [L, 3],
  q: [LQ, DK],
  r: [LQ, DV],
};

/** Fast weights at the authors' init scale (√2/√fan_in), unit keys and queries, rates near base_lr 0.01–0.05. */
function makeCase(seed: number): Case {
  const n = (key: keyof Case): number => BH * SHAPES[key][0] * SHAPES[key][1];
  return {
    w0: uniforms(seed, n('w0'), Math.sqrt(6 / DK)),
    w1: uniforms(seed + 1, n('w1'), Math.sqrt(6 / DH)),
    w2: uniforms(seed + 2, n('w2'), Math.sqrt(6 / DK)),
    k: unitRows(uniforms(seed + 3, n('k')), DK),
    v: uniforms(seed + 4, n('v'), 2),
    lr: uniforms(seed + 5, n('lr'), 0.02, 0.03),
    q: unitRows(uniforms(seed + 6, n('q')), DK),
    r: uniforms(seed + 7, n('r')),
  };
}

const CASE = makeCase(17);

function tensorOf(c: Case, key: keyof Case): Tensor {
  return tf.tensor4d(Float32Array.from(c[key]), [B, H, ...SHAPES[key]]);
}

function weightsOf(c: Case): FastWeights {
  return { w0: tensorOf(c, 'w0'), w1: tensorOf(c, 'w1'), w2: tensorOf(c, 'w2') };
}

/** The (b, h) slice `s` of a flat `[B, H, rows, cols]` array. */
function sliceOf(data: ArrayLike<number>, rows: number, cols: number, s: number): Mat {
  return mat(rows, cols, Array.prototype.slice.call(data, s * rows * cols, (s + 1) * rows * cols) as number[]);
}

function slicesOf(c: Case, s: number): Slice & { k: Mat; v: Mat; lr: Mat; q: Mat } {
  const m = (key: keyof Case): Mat => sliceOf(c[key], SHAPES[key][0], SHAPES[key][1], s);
  return { w0: m('w0'), w1: m('w1'), w2: m('w2'), k: m('k'), v: m('v'), lr: m('lr'), q: m('q') };
}

/** Per-slice results concatenated back into flat `[B, H, …]` arrays. */
function flat(parts: Mat[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.data.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p.data, o);
    o += p.data.length;
  }
  return out;
}

async function expectWeightsClose(actual: FastWeights, expected: Record<Key, Float64Array>, atol: number, message: string): Promise<void> {
  for (const key of KEYS) await expectAllClose(actual[key], Array.from(expected[key]), { atol, rtol: atol, message: `${message} ${key}` });
}

/** The JS oracle's update of every slice, flattened. */
function updateAllJs(c: Case, steps: number, norms?: (s: number) => Record<Key, number[]>): Record<Key, Float64Array> {
  const out = Array.from({ length: BH }, (_, s) => {
    const x = slicesOf(c, s);
    return updateJs(x, x.k, x.v, x.lr, steps, norms?.(s));
  });
  return { w0: flat(out.map((o) => o.w0)), w1: flat(out.map((o) => o.w1)), w2: flat(out.map((o) => o.w2)) };
}

/** Σ r ⊙ f_{update(W)}(q), the scalar the gradient tests differentiate, in float64 JS. */
function lossJs(c: Case, steps: number, norms: (s: number) => Record<Key, number[]>): number {
  let total = 0;
  for (let s = 0; s < BH; s++) {
    const x = slicesOf(c, s);
    const o = applyJs(updateJs(x, x.k, x.v, x.lr, steps, norms(s)), x.q);
    const r = sliceOf(c.r, LQ, DV, s);
    o.data.forEach((val, i) => {
      total += val * (r.data[i] as number);
    });
  }
  return total;
}

describeBackends('fastWeightApply', () => {
  it('equals silu(q·w0) ⊙ (q·w2) · w1 evaluated token by token', async () => {
    const W = weightsOf(CASE);
    const q = tensorOf(CASE, 'q');
    const out = fastWeightApply(W, q);
    expect(out.shape).toEqual([B, H, LQ, DV]);
    const expected = flat(Array.from({ length: BH }, (_, s) => applyJs(slicesOf(CASE, s), slicesOf(CASE, s).q)));
    await expectAllClose(out, Array.from(expected), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([W, q, out]);
  });

  it('leaks no tensor', async () => {
    const W = weightsOf(CASE);
    const q = tensorOf(CASE, 'q');
    await expectNoLeaks(() => fastWeightApply(W, q));
    tf.dispose([W, q]);
  });
});

describeBackends('fastWeightUpdate', () => {
  it('computes the chunk gradient in closed form: −∂/∂W_j of −Σ η_j f_W(k)·v by tf.grad, for each matrix', async () => {
    const W = weightsOf(CASE);
    const [k, v, lr] = (['k', 'v', 'lr'] as const).map((key) => tensorOf(CASE, key)) as [Tensor, Tensor, Tensor];
    const closed = chunkGradients(W, k, v, lr);
    for (const [j, key] of KEYS.entries()) {
      const rate = tf.slice(lr, [0, 0, 0, j], [B, H, L, 1]);
      const loss = (wj: Tensor): Tensor => tf.neg(tf.sum(tf.mul(rate, tf.mul(fastWeightApply({ ...W, [key]: wj }, k), v))));
      const grad = tf.grad(loss)(W[key]);
      const negated = tf.neg(grad);
      await expectAllClose(closed[key], negated, { atol: 1e-5, rtol: 1e-4, message: key });
      tf.dispose([rate, grad, negated]);
    }
    tf.dispose([W, k, v, lr, closed]);
  });

  it('sums the per-token outer products over the chunk (not their mean)', async () => {
    const W = weightsOf(CASE);
    const [k, v, lr] = (['k', 'v', 'lr'] as const).map((key) => tensorOf(CASE, key)) as [Tensor, Tensor, Tensor];
    const closed = chunkGradients(W, k, v, lr);
    const grads = Array.from({ length: BH }, (_, s) => {
      const x = slicesOf(CASE, s);
      return gradientsJs(x, x.k, x.v, x.lr);
    });
    for (const key of KEYS)
      await expectAllClose(closed[key], Array.from(flat(grads.map((g) => g[key]))), { atol: 1e-6, rtol: 1e-5, message: key });
    tf.dispose([W, k, v, lr, closed]);
  });

  for (const steps of [5, 2, 0]) {
    it(`equals the per-token-loop reference with muonSteps ${steps}`, async () => {
      const W = weightsOf(CASE);
      const [k, v, lr] = (['k', 'v', 'lr'] as const).map((key) => tensorOf(CASE, key)) as [Tensor, Tensor, Tensor];
      const out = fastWeightUpdate(W, k, v, lr, { muonSteps: steps });
      for (const key of KEYS) expect(out[key].shape).toEqual(W[key].shape);
      await expectWeightsClose(out, updateAllJs(CASE, steps), 1e-5, `muonSteps ${steps}`);
      tf.dispose([W, k, v, lr, out]);
    });
  }

  it('defaults to 5 Newton–Schulz steps and keeps each column at its pre-update norm', async () => {
    const W = weightsOf(CASE);
    const [k, v, lr] = (['k', 'v', 'lr'] as const).map((key) => tensorOf(CASE, key)) as [Tensor, Tensor, Tensor];
    const out = fastWeightUpdate(W, k, v, lr);
    await expectWeightsClose(out, updateAllJs(CASE, 5), 1e-5, 'default');
    const [before, after] = [fastWeightColumnNorms(W), fastWeightColumnNorms(out)];
    // the rescale divides by ‖w‖ + 1e-5, so norms come back a relative ~1e-5 short
    for (const key of KEYS) await expectAllClose(after[key], before[key], { atol: 0, rtol: 2e-5, message: key });
    for (const key of KEYS) {
      const moved = (await tf.max(tf.abs(tf.sub(out[key], W[key]))).data())[0] as number;
      expect(moved, `${key} moved`).toBeGreaterThan(0.05);
    }
    tf.dispose([W, k, v, lr, out, before, after]);
  });

  it('rescales to columnNorms when given: two chained chunks equal the authors’ loop with the initial norms', async () => {
    const W = weightsOf(CASE);
    const [k, v, lr] = (['k', 'v', 'lr'] as const).map((key) => tensorOf(CASE, key)) as [Tensor, Tensor, Tensor];
    const second = makeCase(99);
    const [k2, v2, lr2] = (['k', 'v', 'lr'] as const).map((key) => tensorOf(second, key)) as [Tensor, Tensor, Tensor];
    const norms = fastWeightColumnNorms(W);
    const first = fastWeightUpdate(W, k, v, lr, { columnNorms: norms });
    const out = fastWeightUpdate(first, k2, v2, lr2, { columnNorms: norms });
    const initial = (s: number): Record<Key, number[]> => {
      const x = slicesOf(CASE, s);
      return { w0: columnNormsJs(x.w0), w1: columnNormsJs(x.w1), w2: columnNormsJs(x.w2) };
    };
    const expected = Array.from({ length: BH }, (_, s) => {
      const x = slicesOf(CASE, s);
      const y = slicesOf(second, s);
      return updateJs(updateJs(x, x.k, x.v, x.lr, 5, initial(s)), y.k, y.v, y.lr, 5, initial(s));
    });
    await expectWeightsClose(
      out,
      { w0: flat(expected.map((e) => e.w0)), w1: flat(expected.map((e) => e.w1)), w2: flat(expected.map((e) => e.w2)) },
      1e-4,
      'chained',
    );
    tf.dispose([W, k, v, lr, k2, v2, lr2, norms, first, out]);
  });

  it('with zero learning rates leaves W in place and keeps gradients finite', async () => {
    const W = weightsOf(CASE);
    const [k, v, q] = (['k', 'v', 'q'] as const).map((key) => tensorOf(CASE, key)) as [Tensor, Tensor, Tensor];
    const lr = tf.zeros([B, H, L, 3]);
    const out = fastWeightUpdate(W, k, v, lr);
    for (const key of KEYS) await expectAllClose(out[key], W[key], { atol: 1e-4, rtol: 1e-4, message: key });
    const grads = tf.grads((w0: Tensor, kk: Tensor) => tf.sum(fastWeightApply(fastWeightUpdate({ ...W, w0 }, kk, v, lr), q)))([W.w0, k]);
    for (const g of grads) expect(Array.from(await g.data()).every(Number.isFinite)).toBe(true);
    tf.dispose([W, k, v, q, lr, out, grads]);
  });

  it('leaks no tensor, forward or under tf.grad', async () => {
    const W = weightsOf(CASE);
    const [k, v, lr, q] = (['k', 'v', 'lr', 'q'] as const).map((key) => tensorOf(CASE, key)) as [Tensor, Tensor, Tensor, Tensor];
    const norms = fastWeightColumnNorms(W);
    await expectNoLeaks(() => fastWeightUpdate(W, k, v, lr));
    await expectNoLeaks(() => fastWeightUpdate(W, k, v, lr, { muonSteps: 0, columnNorms: norms }));
    await expectNoLeaks(() =>
      tf.grads((a: Tensor, b: Tensor) => tf.sum(fastWeightApply(fastWeightUpdate({ ...W, w1: a }, b, v, lr), q)))([W.w1, k]),
    );
    await expectNoLeaks(() => fastWeightColumnNorms(W));
    tf.dispose([W, k, v, lr, q, norms]);
  });
});

describeBackends('Newton–Schulz (zeropower_via_newtonschulz5)', () => {
  /** Random [B, H, r, c] matrices with a spread of singular values, as flat data. */
  const matrices = (r: number, c: number, seed: number): Float64Array => uniforms(seed, BH * r * c);

  for (const [r, c] of [
    [4, 7],
    [6, 3],
  ] as const) {
    it(`matches the float64 iteration and maps each singular value s/‖G‖_F through the quintic, ${r}×${c}`, async () => {
      const data = matrices(r, c, r * 10 + c);
      const g = tf.tensor4d(Float32Array.from(data), [B, H, r, c]);
      const x = newtonSchulz5(g, 5);
      expect(x.shape).toEqual([B, H, r, c]);
      const got = await x.data();
      const p = (s: number): number => 3.4445 * s - 4.775 * s ** 3 + 2.0315 * s ** 5;
      for (let s = 0; s < BH; s++) {
        const gs = sliceOf(data, r, c, s);
        const xs = sliceOf(got, r, c, s);
        await expectAllClose(Array.from(xs.data), Array.from(newtonSchulzJs(gs, 5).data), {
          atol: 1e-5,
          rtol: 1e-4,
          message: `slice ${s}`,
        });
        const fro = Math.sqrt(gs.data.reduce((acc, val) => acc + val * val, 0));
        const predicted = singularValues(gs).map((sv) => {
          let y = sv / fro;
          for (let i = 0; i < 5; i++) y = p(y);
          return y;
        });
        const actual = singularValues(xs);
        await expectAllClose(
          actual,
          predicted.sort((a, b) => a - b),
          { atol: 1e-4, rtol: 1e-4, message: `singular values, slice ${s}` },
        );
        // near-orthogonal in the quintic's sense: every input singular value ≥ 0.0016·‖G‖_F lands in [0.68, 1.21]
        expect(Math.min(...singularValues(gs)) / fro).toBeGreaterThan(0.0016);
        for (const sv of actual) {
          expect(sv).toBeGreaterThan(0.68);
          expect(sv).toBeLessThan(1.21);
        }
      }
      tf.dispose([g, x]);
    });
  }

  // The transpose of a tall G only picks the smaller Gram matrix (cost min(R, C)²); the polynomial is the same either
  // way, so this checks that the wide and the tall path agree and that the result comes back in G's orientation.
  it('treats a tall matrix as its transpose: NS(Gᵀ) = NS(G)ᵀ', async () => {
    const g = tf.tensor4d(Float32Array.from(matrices(3, 5, 7)), [B, H, 3, 5]);
    const gt = tf.transpose(g, [0, 1, 3, 2]);
    const [a, b] = [newtonSchulz5(g, 5), newtonSchulz5(gt, 5)];
    const bt = tf.transpose(b, [0, 1, 3, 2]);
    await expectAllClose(bt, a, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([g, gt, a, b, bt]);
  });
});

/*
 * Gradients through update + apply against central finite differences of the float64 oracle above (which the
 * update tests show equals the op to ~1e-5). Float64 differences with ε = 1e-6 are accurate to ~1e-8, so the
 * tolerance measures the op's float32 autodiff only. The oracle's target norms are held fixed, as the op holds
 * them (they are detached): with `columnNorms` given, the two functions are the same function of W.
 */
describeBackends('gradients through fastWeightUpdate + fastWeightApply', () => {
  const INPUTS = ['w0', 'w1', 'w2', 'k', 'v', 'lr', 'q'] as const;

  for (const steps of [5, 0]) {
    it(`match central finite differences for W, k, v, lr and q (muonSteps ${steps})`, async () => {
      const fixedNorms = (s: number): Record<Key, number[]> => {
        const x = slicesOf(CASE, s);
        return { w0: columnNormsJs(x.w0), w1: columnNormsJs(x.w1), w2: columnNormsJs(x.w2) };
      };
      const W = weightsOf(CASE);
      const norms = fastWeightColumnNorms(W);
      const inputs = INPUTS.map((key) => tensorOf(CASE, key));
      const r = tensorOf(CASE, 'r');
      const loss = (...xs: Tensor[]): Tensor => {
        const [w0, w1, w2, k, v, lr, q] = xs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
        const updated = fastWeightUpdate({ w0, w1, w2 }, k, v, lr, { muonSteps: steps, columnNorms: norms });
        return tf.sum(tf.mul(fastWeightApply(updated, q), r));
      };
      const grads = tf.grads(loss)(inputs);
      const eps = 1e-6;
      for (const [n, key] of INPUTS.entries()) {
        const fd = CASE[key].map((_, i) => {
          const plus = { ...CASE, [key]: CASE[key].map((x, j) => (j === i ? x + eps : x)) };
          const minus = { ...CASE, [key]: CASE[key].map((x, j) => (j === i ? x - eps : x)) };
          return (lossJs(plus, steps, fixedNorms) - lossJs(minus, steps, fixedNorms)) / (2 * eps);
        });
        const scale = Math.max(...fd.map(Math.abs));
        expect(scale, `${key}: a non-trivial gradient`).toBeGreaterThan(1e-3);
        // measured on cpu and wasm: |diff| ≤ 4e-6 at scale ~1 (float32 roundoff through five Newton–Schulz steps)
        await expectAllClose(grads[n] as Tensor, Array.from(fd), { atol: 1e-4 * scale, rtol: 1e-3, message: key });
      }
      tf.dispose([W, norms, inputs, r, grads]);
    });
  }

  it('treat the default target norms as constants (the authors’ detach): equal to passing them explicitly', async () => {
    const W = weightsOf(CASE);
    const [k, v, lr, q, r] = (['k', 'v', 'lr', 'q', 'r'] as const).map((key) => tensorOf(CASE, key)) as [
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
    ];
    const norms = fastWeightColumnNorms(W);
    const lossWith = (columnNorms?: FastWeights) => (w0: Tensor, w1: Tensor, w2: Tensor) =>
      tf.sum(tf.mul(fastWeightApply(fastWeightUpdate({ w0, w1, w2 }, k, v, lr, columnNorms ? { columnNorms } : {}), q), r));
    const implicit = tf.grads(lossWith())([W.w0, W.w1, W.w2]);
    const explicit = tf.grads(lossWith(norms))([W.w0, W.w1, W.w2]);
    for (const [i, key] of KEYS.entries())
      await expectAllClose(implicit[i] as Tensor, explicit[i] as Tensor, { atol: 1e-6, rtol: 1e-5, message: key });
    tf.dispose([W, k, v, lr, q, r, norms, implicit, explicit]);
  });
});

describeBackends('lactLearningRates', () => {
  it('maps a zero logit to base_lr 0.01 and x to softplus(x + softplus⁻¹(0.01))', async () => {
    const xs = [0, -3, -0.5, 0.25, 2, 8];
    const logits = tf.tensor4d(xs, [1, 1, 2, 3]);
    const out = lactLearningRates(logits);
    expect(out.shape).toEqual([1, 1, 2, 3]);
    const shift = Math.log(Math.expm1(0.01));
    await expectAllClose(
      out,
      xs.map((x) => Math.log1p(Math.exp(x + shift))),
      { atol: 1e-7, rtol: 1e-5 },
    );
    expect((await out.data())[0]).toBeCloseTo(0.01, 7);
    tf.dispose([logits, out]);
  });

  it('takes baseLr, and any layout', async () => {
    const logits = tf.zeros([2, 5]);
    const out = lactLearningRates(logits, { baseLr: 0.001 });
    // WebGPU's float32 softplus is log(1 + eˣ): 1 + 0.001 keeps ~4 significant digits of eˣ (relative error ~6e-5 here)
    await expectAllClose(out, new Array(10).fill(0.001), { atol: 0, rtol: 2e-4 });
    await expectNoLeaks(() => lactLearningRates(logits, { baseLr: 0.5 }));
    tf.dispose([logits, out]);
  });
});
