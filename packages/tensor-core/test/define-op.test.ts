import { describe, expect, it } from 'vitest';
import { defineOp, flatGrid, scalarUniforms, tf, type Tensor, type WebGPUProgram } from '../src/index.js';
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
