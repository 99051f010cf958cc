import { describe, expect, it } from 'vitest';
import { runProgram } from '../src/bench/index.js';
import {
  DtypeError,
  flatGrid,
  LINEAR_WORKGROUP_INDEX,
  logSoftmax,
  onlineSoftmaxWgsl,
  philoxUniform,
  SOFTMAX_WORKGROUP,
  scalarUniforms,
  ShapeError,
  softmax,
  splitRowChunk,
  tf,
  ValueError,
  type WebGPUProgram,
  webgpuSubgroups,
} from '../src/index.js';
import { NormalizeProgram } from '../src/softmax/normalize.program.js';
import { logSoftmaxOp, softmaxOp } from '../src/softmax/op.js';
import { RowStatsProgram } from '../src/softmax/row-stats.program.js';
import { badInput, describeBackends, expectAllClose, expectNoLeaks, itRejects } from '../src/testing/index.js';

const INF = Number.POSITIVE_INFINITY;
const NEG_INF = Number.NEGATIVE_INFINITY;

/** Logits in [−scale/2, scale/2), built from the seeded RNG so every backend sees the same numbers. */
function logits(rows: number, cols: number, seed: number, scale = 20): tf.Tensor {
  return philoxUniform([rows, cols], { seed, low: -scale / 2, high: scale / 2 });
}

function bruteSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Three reductions in a row, as fused kernels make them (simplex-decoding's top-r programs): the (max, Σ) of
 * each row of `x: [R, WG]`, of 2x, and a plain count, written to `result: [R, 6]`.
 */
class RepeatedReductionProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [SOFTMAX_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  private readonly subgroups: boolean;

  constructor(rows: number, subgroups: boolean) {
    this.subgroups = subgroups;
    this.outputShape = [rows, 6];
    this.shaderKey = `tessera_test_repeated_reduction_${subgroups}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${onlineSoftmaxWgsl(this.subgroups)}
  fn main(index : i32) {
    let row = i32(linearWorkgroupIndex());
    let v = x[row * WG + i32(localIndex)];
    let a = reduceWorkgroup(pushValue(vec2<f32>(-uniforms.INFINITY, 0.0), v));
    let b = reduceWorkgroup(pushValue(vec2<f32>(-uniforms.INFINITY, 0.0), 2.0 * v));
    let c = reduceWorkgroup(vec2<f32>(0.0, 1.0));
    if (localIndex == 0u) {
      result[row * 6] = a.x;
      result[row * 6 + 1] = a.y;
      result[row * 6 + 2] = b.x;
      result[row * 6 + 3] = b.y;
      result[row * 6 + 4] = c.x;
      result[row * 6 + 5] = c.y;
    }
  }
`;
  }
}

describeBackends('softmax', (backend) => {
  it("runs a Tessera kernel on cpu and webgpu, and tfjs' own SIMD kernel on wasm", async () => {
    expect(softmaxOp.hasKernel()).toBe(backend !== 'wasm');
    expect(logSoftmaxOp.hasKernel()).toBe(backend !== 'wasm');
    if (backend !== 'wasm') return;
    // rows without NaN or +∞ (−∞ and all −∞ rows included): tfjs' kernel alone; the rules' composite otherwise
    const kernels = async (x: tf.Tensor, temperature: number) =>
      (await tf.profile(() => softmax(x, { temperature }))).kernelNames.filter((k) => k !== 'Cast');
    const finite = tf.tensor2d([
      [1, 2, NEG_INF, 3],
      [NEG_INF, NEG_INF, NEG_INF, NEG_INF],
    ]);
    expect(await kernels(finite, 1)).toEqual(['Softmax']);
    expect(await kernels(finite, 0.5)).toEqual(['RealDiv', 'Softmax']);
    const p = (await softmax(finite, { temperature: 0.5 }).array()) as number[][];
    expect(p[0]?.[2]).toBe(0);
    expect(p[1]?.every(Number.isNaN)).toBe(true);
    for (const bad of [INF, Number.NaN]) {
      const x = tf.tensor2d([[1, 2, bad, 3]]);
      expect(await kernels(x, 1)).toContain('IsNan');
      x.dispose();
    }
    // the screen reads tfjs' result: an all −∞ row (NaN there and by the rules) before a +∞ row still sends it to the op
    const masked = tf.tensor2d([
      [NEG_INF, NEG_INF, NEG_INF],
      [1, INF, 2],
    ]);
    expect(await kernels(masked, 1)).toContain('IsNan');
    expect(await softmax(masked).array()).toEqual([
      [Number.NaN, Number.NaN, Number.NaN],
      [0, 1, 0],
    ]);
    masked.dispose();
    // a finite logit that the temperature overflows to +∞ is screened after the division
    const big = tf.tensor1d([3e38, 1, 3e38]);
    expect(await kernels(big, 0.5)).toContain('IsNan');
    tf.dispose([finite, big]);
  });

  it('matches a hand-computed row', async () => {
    const x = tf.tensor2d([
      [1, 2, 3, 4],
      [0, 0, 0, 0],
    ]);
    await expectAllClose(softmax(x), [bruteSoftmax([1, 2, 3, 4]), [0.25, 0.25, 0.25, 0.25]], { atol: 1e-6 });
    await expectAllClose(logSoftmax(x), [bruteSoftmax([1, 2, 3, 4]).map(Math.log), Array(4).fill(Math.log(0.25))], {
      atol: 1e-5,
    });
    x.dispose();
  });

  // shapes cover one chunk, several chunks with a ragged tail, and many rows
  for (const [rows, cols] of [
    [3, 7],
    [2, 5000],
    [1, 20000],
    [33, 257],
  ] as const) {
    it(`matches tf.softmax and tf.logSoftmax on ${rows}×${cols}`, async () => {
      const x = logits(rows, cols, rows * 1000 + cols);
      await expectAllClose(softmax(x), softmaxOp.reference({ x }, { temperature: 1 }), { atol: 1e-6, rtol: 1e-4 });
      await expectAllClose(logSoftmax(x), logSoftmaxOp.reference({ x }, { temperature: 1 }), { atol: 1e-4, rtol: 1e-5 });
      await expectAllClose(softmax(x, { temperature: 0.7 }), softmaxOp.reference({ x }, { temperature: 0.7 }), { atol: 1e-6, rtol: 1e-4 });
      await expectAllClose(logSoftmax(x, { temperature: 2.5 }), logSoftmaxOp.reference({ x }, { temperature: 2.5 }), {
        atol: 1e-4,
        rtol: 1e-5,
      });
      x.dispose();
    });
  }

  it('is invariant to a constant shift and handles large logits', async () => {
    const x = logits(4, 3000, 7);
    const shifted = tf.add(x, 1e4);
    await expectAllClose(softmax(shifted), softmax(x), { atol: 1e-6, rtol: 1e-3 });
    tf.dispose([x, shifted]);
  });

  it('gives masked (−∞) entries probability 0 and a log-probability of −∞', async () => {
    const x = tf.tensor2d([[Number.NEGATIVE_INFINITY, 1, Number.NEGATIVE_INFINITY, 1]]);
    await expectAllClose(softmax(x), [[0, 0.5, 0, 0.5]], { atol: 1e-7 });
    const lp = await logSoftmax(x).data();
    expect(lp[0]).toBe(Number.NEGATIVE_INFINITY);
    expect(lp[1]).toBeCloseTo(Math.log(0.5), 5);
    x.dispose();
  });

  it('masks whole chunks (a chunk of only −∞ next to finite chunks)', async () => {
    const cols = 3000;
    const values = new Float32Array(cols).fill(Number.NEGATIVE_INFINITY);
    values[cols - 1] = 2;
    values[cols - 2] = 2;
    const x = tf.tensor2d(values, [1, cols]);
    const p = await softmax(x).data();
    expect(p[cols - 1]).toBeCloseTo(0.5, 6);
    expect(p[0]).toBe(0);
    x.dispose();
  });

  it('keeps a [V] input as [V]', async () => {
    const x = tf.tensor1d([1, 2, 3, 4]);
    const y = softmax(x, { temperature: 2 });
    expect(y.shape).toEqual([4]);
    await expectAllClose(y, bruteSoftmax([0.5, 1, 1.5, 2]), { atol: 1e-6 });
    const lp = logSoftmax(x);
    expect(lp.shape).toEqual([4]);
    tf.dispose([x, y, lp]);
  });

  it('gives the +∞ tokens of a row equal shares, a row with a NaN NaN, an all −∞ row NaN', async () => {
    const x = tf.tensor2d([
      [1, INF, NEG_INF, INF, -2],
      [0, INF, 5, NEG_INF, 1e30],
      [1, Number.NaN, 2, INF, 0],
      [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF],
      [1, 2, NEG_INF, 3, 4],
    ]);
    const rows = (await softmax(x).array()) as number[][];
    expect(rows[0]).toEqual([0, 0.5, 0, 0.5, 0]);
    expect(rows[1]).toEqual([0, 1, 0, 0, 0]);
    expect(rows[2]?.every(Number.isNaN)).toBe(true);
    expect(rows[3]?.every(Number.isNaN)).toBe(true);
    expect(rows[4]?.[2]).toBe(0);
    const logs = (await logSoftmax(x).array()) as number[][];
    expect(logs[0]?.[1]).toBeCloseTo(-Math.log(2), 6);
    expect([logs[0]?.[0], logs[0]?.[2], logs[0]?.[4]]).toEqual([NEG_INF, NEG_INF, NEG_INF]);
    expect(logs[1]?.map((v) => v + 0)).toEqual([NEG_INF, 0, NEG_INF, NEG_INF, NEG_INF]);
    expect(logs[2]?.every(Number.isNaN)).toBe(true);
    expect(logs[3]?.every(Number.isNaN)).toBe(true);
    // a temperature that overflows a finite logit to +∞ makes it a +∞ token
    expect(Array.from(await softmax(tf.tensor1d([3e38, 1, 3e38]), { temperature: 0.5 }).data())).toEqual([0.5, 0, 0.5]);
    // and the reference (the WASM path) follows the same rules
    await expectAllClose(softmaxOp.reference({ x }, { temperature: 1 }), rows, { atol: 0 });
    x.dispose();
  });

  it('applies the non-finite rules across chunks of a long row', async () => {
    const cols = 20000;
    const values = new Float32Array(3 * cols);
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i);
    // row 0: +∞ in the first and the last chunk; row 1: a NaN in the middle; row 2 finite
    values[5] = INF;
    values[cols - 1] = INF;
    values[cols + 9000] = Number.NaN;
    const x = tf.tensor2d(values, [3, cols]);
    const p = await softmax(x).data();
    const lp = await logSoftmax(x).data();
    expect([p[5], p[cols - 1], p[6], p[cols - 2]]).toEqual([0.5, 0.5, 0, 0]);
    expect(lp[5]).toBeCloseTo(-Math.log(2), 6);
    expect(lp[6]).toBe(NEG_INF);
    expect(Number.isNaN(p[cols] as number) && Number.isNaN(p[2 * cols - 1] as number)).toBe(true);
    expect(Number.isNaN(lp[cols + 1] as number)).toBe(true);
    expect(Array.from(p.subarray(2 * cols)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    x.dispose();
  });

  it('reduces rows alike with subgroup operations and with the portable tree', async () => {
    if (backend !== 'webgpu') return;
    // the kernel takes the tree; the subgroup variant (onlineSoftmaxWgsl(true), kept for devices where it pays) runs
    // here explicitly where the device has subgroups (lavapipe and the H100 do)
    const variants = webgpuSubgroups().enabled ? [true, false] : [false];
    // 20 chunks a row, so the second pass folds statistics held by several subgroups (sizes 4 to 16); row 1
    // holds two +∞, row 2 a NaN, row 3 only −∞ but for its last entry
    const [rows, cols] = [5, 20000];
    const values = await logits(rows, cols, 21).data();
    values[cols + 3] = INF;
    values[2 * cols - 1] = INF;
    values[2 * cols + 15000] = Number.NaN;
    values.fill(NEG_INF, 3 * cols, 4 * cols - 1);
    const x = tf.tensor2d(values, [rows, cols]);
    const chunk = splitRowChunk(rows, cols);
    const chunks = Math.ceil(cols / chunk);
    const temperature = 0.8;
    const uniforms = [...scalarUniforms('int32', [cols, chunk, chunks]), ...scalarUniforms('float32', [temperature])];
    for (const subgroups of variants) {
      const stats = runProgram(new RowStatsProgram(rows, chunks, subgroups), [x], uniforms);
      const p = runProgram(new NormalizeProgram(rows, cols, chunks, false, subgroups), [x, stats], uniforms);
      const lp = runProgram(new NormalizeProgram(rows, cols, chunks, true, subgroups), [x, stats], uniforms);
      await expectAllClose(p, softmaxOp.reference({ x }, { temperature }), { atol: 1e-6, rtol: 1e-4 });
      await expectAllClose(lp, logSoftmaxOp.reference({ x }, { temperature }), { atol: 1e-4, rtol: 1e-5 });
      tf.dispose([stats, p, lp]);
    }
    x.dispose();
  });

  it('reduces repeatedly in one program, with either reduction', async () => {
    if (backend !== 'webgpu') return;
    const rows = 3;
    const x = logits(rows, SOFTMAX_WORKGROUP, 31);
    const values = await x.data();
    const expected: number[][] = [];
    for (let r = 0; r < rows; r++) {
      const row = Array.from(values.subarray(r * SOFTMAX_WORKGROUP, (r + 1) * SOFTMAX_WORKGROUP));
      const stats = (scale: number) => {
        const m = Math.max(...row) * scale;
        return [m, row.reduce((s, v) => s + Math.exp(v * scale - m), 0)];
      };
      expected.push([...stats(1), ...stats(2), 0, SOFTMAX_WORKGROUP]);
    }
    for (const subgroups of webgpuSubgroups().enabled ? [true, false] : [false]) {
      const out = runProgram(new RepeatedReductionProgram(rows, subgroups), [x]);
      await expectAllClose(out, expected, { atol: 1e-6, rtol: 1e-5 });
      out.dispose();
    }
    x.dispose();
  });

  it('differentiates like the tfjs composite', async () => {
    const x = logits(3, 50, 11, 4);
    const w = logits(3, 50, 12, 1);
    const f = (op: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(op(t), w));
    await expectAllClose(tf.grad(f((t) => softmax(t)))(x), tf.grad(f((t) => tf.softmax(t)))(x), { atol: 1e-6 });
    await expectAllClose(tf.grad(f((t) => logSoftmax(t)))(x), tf.grad(f((t) => tf.logSoftmax(t)))(x), { atol: 1e-5 });
    const hot = (t: tf.Tensor) => tf.sum(tf.mul(softmax(t, { temperature: 0.5 }), w));
    await expectAllClose(tf.grad(hot)(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(tf.div(t, 0.5)), w)))(x), { atol: 1e-5 });
    tf.dispose([x, w]);
  });

  it('leaks no tensors, forward or backward', async () => {
    const x = logits(2, 3000, 5);
    await expectNoLeaks(() => softmax(x));
    await expectNoLeaks(() => softmax(x, { temperature: 0.5 }));
    await expectNoLeaks(() => logSoftmax(x, { temperature: 2 }));
    const limit = tf.tensor2d([[1, Number.POSITIVE_INFINITY, 2]]);
    await expectNoLeaks(() => softmax(limit, { temperature: 0.5 }));
    limit.dispose();
    await expectNoLeaks(() => tf.tidy(() => logSoftmax(x.reshape([6000]))));
    await expectNoLeaks(() => tf.grad((t: tf.Tensor) => tf.sum(softmax(t)))(x));
    x.dispose();
  });
});

describe('softmax and logSoftmax: bad input', () => {
  for (const [name, op] of [
    ['softmax', softmax],
    ['logSoftmax', logSoftmax],
  ] as const) {
    itRejects([
      badInput({
        name: `${name}: a non-tensor`,
        call: () => op([1, 2] as never),
        error: ShapeError,
        message: 'logits: expected a tensor of shape [B, V] or [V], received [1, 2]',
      }),
      badInput({
        name: `${name}: a disposed tensor`,
        call: () => {
          const t = tf.zeros([2, 3]);
          t.dispose();
          return op(t);
        },
        error: ValueError,
        message: 'logits: expected a live tensor, received a disposed Tensor<float32>[2, 3]',
      }),
      badInput({
        name: `${name}: a scalar`,
        inputs: () => tf.scalar(1),
        call: (x) => op(x),
        error: ShapeError,
        message: 'logits: expected shape [B, V] or [V], received rank 0 []',
      }),
      badInput({
        name: `${name}: rank 3`,
        inputs: () => tf.zeros([1, 2, 3]),
        call: (x) => op(x),
        error: ShapeError,
        message: 'received rank 3 [1, 2, 3]',
      }),
      badInput({
        name: `${name}: int32 logits`,
        inputs: () => tf.tensor1d([1, 2], 'int32'),
        call: (x) => op(x),
        error: DtypeError,
        message: 'logits: expected dtype float32, received int32',
      }),
      badInput({
        name: `${name}: V = 0`,
        inputs: () => tf.zeros([2, 0]),
        call: (x) => op(x),
        error: ShapeError,
        message: 'logits: expected B ≥ 1 and V ≥ 1, received shape [2, 0]',
      }),
      badInput({
        name: `${name}: temperature 0`,
        inputs: () => tf.zeros([2, 3]),
        call: (x) => op(x, { temperature: 0 }),
        error: ValueError,
        message: 'temperature: expected a finite number > 0, received 0 (for temperature 0 use greedy())',
      }),
      badInput({
        name: `${name}: a NaN temperature`,
        inputs: () => tf.zeros([3]),
        call: (x) => op(x, { temperature: Number.NaN }),
        error: ValueError,
        message: 'temperature: expected a finite number > 0, received NaN',
      }),
      badInput({
        name: `${name}: a misspelt option`,
        inputs: () => tf.zeros([3]),
        call: (x) => op(x, { temprature: 0.5 } as never),
        error: ValueError,
        message: 'opts.temprature: expected one of the known options (temperature), received an unknown option (did you mean temperature?)',
      }),
      badInput({
        name: `${name}: options that are not an object`,
        inputs: () => tf.zeros([3]),
        call: (x) => op(x, 0.5 as never),
        error: ValueError,
        message: 'opts: expected an options object { temperature }, received 0.5',
      }),
    ]);
  }
});

describe('softmax fallback', () => {
  it('runs the reference on a backend without a Tessera kernel', () => {
    expect(softmaxOp.hasKernel('webgl')).toBe(false);
  });
});
