import { describe, expect, it } from 'vitest';
import { defineOp, flatGrid, gradientThroughReference, scalarUniforms, tf, type Tensor, type WebGPUProgram } from '../src/index.js';
import { describeBackends, expectAllClose, expectNoLeaks } from '../src/testing/index.js';

/** y = a·x + 1: small enough to check every path of defineOp by hand. */
class AffineProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_test_affine';
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'a : f32,';
  size = true;
  constructor(shape: number[]) {
    this.outputShape = shape;
    const n = shape.reduce((p, d) => p * d, 1);
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(shape, Math.ceil(n / 64)));
  }
  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      result[index] = uniforms.a * x[index] + 1.0;
    }
  }`;
  }
}

const calls: string[] = [];
const affine = defineOp<'x', { a: number }>({
  kernelName: 'TesseraTestAffine',
  inputs: ['x'],
  reference: ({ x }, { a }) => tf.tidy(() => tf.add(tf.mul(x, a), 1)),
  host: ({ x }, { a }) => {
    calls.push('host');
    return { shape: x.shape, dtype: 'float32', values: (x.values as Float32Array).map((v) => a * v + 1) };
  },
  webgpu: ({ inputs: { x }, attrs: { a }, run }) => {
    calls.push('webgpu');
    return run(new AffineProgram(x.shape), [x], 'float32', scalarUniforms('float32', [a]));
  },
  gradient: {
    grad: (dy, _saved, { a }) => ({ x: () => tf.mul(dy, a) }),
  },
});

describeBackends('defineOp', (backend) => {
  it('dispatches to the backend kernel, or to the reference where there is none', async () => {
    calls.length = 0;
    const x = tf.tensor2d([
      [1, 2],
      [3, -4],
    ]);
    const y = affine({ x }, { a: 3 });
    await expectAllClose(y, [
      [4, 7],
      [10, -11],
    ]);
    expect(calls).toEqual(backend === 'wasm' ? [] : [backend === 'cpu' ? 'host' : 'webgpu']);
    expect(affine.hasKernel()).toBe(backend !== 'wasm');
    tf.dispose([x, y]);
  });

  it('differentiates through the registered gradient (or autodiff of the reference)', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((t: Tensor) => tf.sum(tf.square(affine({ x: t }, { a: 2 }))))(x);
    // d/dx Σ(2x+1)² = 4(2x+1)
    await expectAllClose(g, [12, 20, 28]);
    tf.dispose([x, g]);
  });

  it('is tracked by tfjs memory accounting and freed by tidy', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numTensors;
    const y = affine({ x }, { a: 1 });
    expect(tf.memory().numTensors).toBe(before + 1);
    y.dispose();
    await expectNoLeaks(() => {
      tf.tidy(() => {
        affine({ x: affine({ x }, { a: 2 }) }, { a: 3 });
      });
    });
    x.dispose();
  });
});

describe('defineOp declaration', () => {
  it('exposes its kernel name and reference', async () => {
    expect(affine.kernelName).toBe('TesseraTestAffine');
    const x = tf.tensor1d([2]);
    await expectAllClose(affine.reference({ x }, { a: 5 }), [11]);
    x.dispose();
  });
});

/** (x + y, x − y): a kernel with two outputs. */
const sumDiff = defineOp<'x' | 'y', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraTestSumDiff',
  inputs: ['x', 'y'],
  outputs: 2,
  reference: ({ x, y }) => [tf.add(x, y), tf.sub(x, y)],
  host: ({ x, y }) => {
    const a = x.values as Float32Array;
    const b = y.values as Float32Array;
    return [
      { shape: x.shape, dtype: 'float32', values: a.map((v, i) => v + (b[i] as number)) },
      { shape: x.shape, dtype: 'float32', values: a.map((v, i) => v - (b[i] as number)) },
    ];
  },
  webgpu: ({ inputs: { x, y }, run }) => {
    // y enters as x's partner through two affine programs: x + 1·y and x + (−1)·y
    const prog = (sign: number) => {
      const p = new AffineProgram(x.shape);
      p.shaderKey = `tessera_test_axpy_${sign}`;
      p.variableNames = ['x', 'y'];
      p.getUserCode = () => `
  fn main(index : i32) {
    if (index < uniforms.size) {
      result[index] = x[index] + ${sign === 1 ? '' : '-'}y[index];
    }
  }`;
      return p;
    };
    return [
      run(prog(1), [x, y], 'float32', scalarUniforms('float32', [0])),
      run(prog(-1), [x, y], 'float32', scalarUniforms('float32', [0])),
    ];
  },
  gradient: {
    grad: ([dSum, dDiff]) => ({
      x: () => tf.add(dSum as Tensor, dDiff as Tensor),
      y: () => tf.sub(dSum as Tensor, dDiff as Tensor),
    }),
  },
});

describeBackends('defineOp with several outputs', () => {
  it('returns every output and differentiates through each', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.tensor1d([10, 20, 30]);
    const [s, d] = sumDiff({ x, y }, {}) as [Tensor, Tensor];
    await expectAllClose(s, [11, 22, 33]);
    await expectAllClose(d, [-9, -18, -27]);
    // L = Σ(2·sum + 3·diff) → dL/dx = 5, dL/dy = −1
    const [gx, gy] = tf.grads((a: Tensor, b: Tensor) => {
      const [p, q] = sumDiff({ x: a, y: b }, {}) as [Tensor, Tensor];
      return tf.add(tf.sum(tf.mul(p, 2)), tf.sum(tf.mul(q, 3)));
    })([x, y]) as [Tensor, Tensor];
    await expectAllClose(gx, [5, 5, 5]);
    await expectAllClose(gy, [-1, -1, -1]);
    await expectNoLeaks(() => sumDiff({ x, y }, {}));
    tf.dispose([x, y, s, d, gx, gy]);
  });
});

/** x²·a with a host kernel whose gradient is autodiff of the reference (gradientThroughReference). */
const scaledSquare = defineOp<'x', { a: number }>({
  kernelName: 'TesseraTestScaledSquare',
  inputs: ['x'],
  reference: ({ x }, { a }) => tf.tidy(() => tf.mul(tf.square(x), a)),
  host: ({ x }, { a }) => ({ shape: x.shape, dtype: 'float32', values: (x.values as Float32Array).map((v) => a * v * v) }),
  hostBackends: ['cpu', 'wasm'],
  gradient: gradientThroughReference(['x'], ({ x }, { a }) => tf.mul(tf.square(x), a)),
});

/** (x·y, x + y) with host kernels, differentiated through its reference. */
const prodSum = defineOp<'x' | 'y', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraTestProdSum',
  inputs: ['x', 'y'],
  outputs: 2,
  reference: ({ x, y }) => [tf.mul(x, y), tf.add(x, y)],
  host: ({ x, y }) => {
    const a = x.values as Float32Array;
    const b = y.values as Float32Array;
    return [
      { shape: x.shape, dtype: 'float32', values: a.map((v, i) => v * (b[i] as number)) },
      { shape: x.shape, dtype: 'float32', values: a.map((v, i) => v + (b[i] as number)) },
    ];
  },
  hostBackends: ['cpu', 'wasm'],
  gradient: gradientThroughReference(['x', 'y'], ({ x, y }) => [tf.mul(x, y), tf.add(x, y)]),
});

/** 2·x with a host kernel that counts its calls, differentiated through its reference. */
let doubledHostCalls = 0;
const doubled = defineOp<'x', Record<string, never>>({
  kernelName: 'TesseraTestDoubled',
  inputs: ['x'],
  reference: ({ x }) => tf.mul(x, 2),
  host: ({ x }) => {
    doubledHostCalls++;
    return { shape: x.shape, dtype: 'float32', values: (x.values as Float32Array).map((v) => 2 * v) };
  },
  hostBackends: ['cpu', 'wasm'],
  gradient: gradientThroughReference(['x'], ({ x }) => tf.mul(x, 2)),
});

describeBackends('gradientThroughReference', (backend) => {
  it('under a gradient tape on cpu and wasm runs the reference instead of the host kernel (the backward would run it again)', async () => {
    const x = tf.tensor1d([1, -2]);
    doubledHostCalls = 0;
    const y = doubled({ x }, {});
    const host = backend === 'cpu' || backend === 'wasm';
    expect(doubledHostCalls).toBe(host ? 1 : 0);
    const g = tf.grad((t: Tensor) => tf.sum(tf.square(doubled({ x: t }, {}))))(x);
    expect(doubledHostCalls).toBe(host ? 1 : 0);
    // d/dx Σ (2x)² = 8x
    await expectAllClose(g, [8, -16]);
    await expectAllClose(y, [2, -4]);
    tf.dispose([x, y, g]);
  });

  it('gives a kernel without its own backward the gradient of its reference (one output)', async () => {
    const x = tf.tensor1d([1, -2, 3]);
    const g = tf.grad((t: Tensor) => tf.sum(scaledSquare({ x: t }, { a: 3 })))(x);
    await expectAllClose(g, [6, -12, 18]);
    await expectNoLeaks(() => tf.grad((t: Tensor) => tf.sum(scaledSquare({ x: t }, { a: 3 })))(x));
    tf.dispose([x, g]);
  });

  it('weights each output by its cotangent (several outputs, one unused)', async () => {
    const x = tf.tensor1d([1, 2]);
    const y = tf.tensor1d([5, -1]);
    // L = Σ 2·x·y + Σ 3·(x + y) → dL/dx = 2y + 3, dL/dy = 2x + 3
    const [gx, gy] = tf.grads((a: Tensor, b: Tensor) => {
      const [p, s] = prodSum({ x: a, y: b }, {}) as [Tensor, Tensor];
      return tf.add(tf.sum(tf.mul(p, 2)), tf.sum(tf.mul(s, 3)));
    })([x, y]) as [Tensor, Tensor];
    await expectAllClose(gx, [13, 1]);
    await expectAllClose(gy, [5, 7]);
    // only the product reaches the loss: tfjs passes zeros for the sum
    const [hx] = tf.grads((a: Tensor, b: Tensor) => tf.sum((prodSum({ x: a, y: b }, {}) as Tensor[])[0] as Tensor))([x, y]) as [
      Tensor,
      Tensor,
    ];
    await expectAllClose(hx, [5, -1]);
    tf.dispose([x, y, gx, gy, hx]);
  });
});

/** Returns its input's values as they are: on wasm a view into the heap, which defineOp must copy out. */
const passThrough = defineOp<'x', Record<string, never>>({
  kernelName: 'TesseraTestPassThrough',
  inputs: ['x'],
  reference: ({ x }) => tf.clone(x),
  host: ({ x }) => x,
  hostBackends: ['cpu', 'wasm'],
});

/** Two outputs aliasing one input: the values, and a subarray of them (a second view, written after the first). */
const headTail = defineOp<'x', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraTestHeadTail',
  inputs: ['x'],
  outputs: 2,
  reference: ({ x }) => [tf.clone(x), tf.slice(x, 1)],
  host: ({ x }) => [x, { shape: [(x.shape[0] as number) - 1], dtype: x.dtype, values: x.values.subarray(1) }],
  hostBackends: ['cpu', 'wasm'],
});

/** Bytes of the WASM heap (the wasm backend's module memory). */
function heapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
}

describeBackends(
  'defineOp host kernels and their inputs',
  (backend) => {
    it('runs the host kernel (a heap view on wasm, the backend array on cpu)', () => {
      expect(passThrough.hasKernel()).toBe(true);
      expect(headTail.hasKernel()).toBe(true);
    });

    it('returns an input passed through unchanged, for each dtype, and leaves the input as it was', async () => {
      const cases: [Tensor, number[]][] = [
        [tf.tensor1d([1.5, -2, 3.25, 0], 'float32'), [1.5, -2, 3.25, 0]],
        [tf.tensor1d([7, -8, 2 ** 30, 0], 'int32'), [7, -8, 2 ** 30, 0]],
        [tf.tensor1d([true, false, true, true], 'bool'), [1, 0, 1, 1]],
      ];
      for (const [x, want] of cases) {
        const y = passThrough({ x }, {});
        expect(y.dtype).toBe(x.dtype);
        expect(Array.from(await y.data())).toEqual(want);
        const [head, tail] = headTail({ x }, {}) as [Tensor, Tensor];
        expect([head.dtype, tail.dtype]).toEqual([x.dtype, x.dtype]);
        expect(Array.from(await head.data())).toEqual(want);
        expect(Array.from(await tail.data())).toEqual(want.slice(1));
        // the outputs are tensors of their own: disposing the input leaves them intact
        x.dispose();
        expect(Array.from(await y.data())).toEqual(want);
        tf.dispose([y, head, tail]);
      }
    });

    it('does not change the input tensors of an op', async () => {
      const x = tf.tensor2d([
        [1, 2],
        [3, -4],
      ]);
      const y = affine({ x }, { a: 3 });
      const s = scaledSquare({ x }, { a: 2 });
      const [p, q] = prodSum({ x, y: s }, {}) as [Tensor, Tensor];
      expect(Array.from(await x.data())).toEqual([1, 2, 3, -4]);
      expect(Array.from(await s.data())).toEqual([2, 8, 18, 32]);
      tf.dispose([x, y, s, p, q]);
    });

    it('does not leak', async () => {
      const x = tf.tensor1d([1, 2, 3]);
      await expectNoLeaks(() => passThrough({ x }, {}));
      await expectNoLeaks(() => headTail({ x }, {}));
      await expectNoLeaks(() => tf.tidy(() => passThrough({ x: headTail({ x }, {})[1] as Tensor }, {})));
      x.dispose();
    });

    if (backend === 'wasm') {
      it('keeps outputs that alias an input correct when writing them grows the heap, and after later growth', async () => {
        // an input as large as the whole heap: writing its pass-through copy back must grow the heap,
        // detaching every view of it taken before
        // (built in JS, so the heap gets this one allocation and no freed intermediates to reuse)
        const n = heapBytes() / 4;
        const x = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => i % 1000));
        const before = heapBytes();
        const [y, tail] = headTail({ x }, {}) as [Tensor, Tensor];
        expect(heapBytes()).toBeGreaterThan(before);
        // more growth after the op: the outputs live in memory of their own, not in a view
        const grown = heapBytes();
        const filler = tf.zeros([grown / 4]);
        expect(heapBytes()).toBeGreaterThan(grown);
        const check = async (t: Tensor, first: number): Promise<void> => {
          const v = (await t.data()) as Float32Array;
          expect(v.length).toBe(n - first);
          let wrong = 0;
          for (let i = 0; i < v.length; i++) if (v[i] !== (i + first) % 1000) wrong++;
          expect(wrong).toBe(0);
        };
        await check(y, 0);
        await check(tail, 1);
        await check(x, 0);
        tf.dispose([x, y, tail, filler]);
      });
    }
  },
  { backends: ['cpu', 'wasm'] },
);
