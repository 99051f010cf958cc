import { describe, expect, it } from 'vitest';
import { BackendError, flatGrid, LINEAR_WORKGROUP_INDEX, philoxUniform, scalarUniforms, tf, type WebGPUProgram } from '../src/index.js';
import { bench, compare, formatTable, gigabytesPerSecond, gigaflopsPerSecond, kernelProfile, runProgram } from '../src/bench/index.js';
import { describeBackends, expectAllClose, expectNoLeaks } from '../src/testing/index.js';

describeBackends('bench', () => {
  it('times a call, reports ms per call and frees what the call returns', async () => {
    const x = tf.ones([64, 64]);
    await expectNoLeaks(async () => {
      const r = await bench('matmul', () => tf.matMul(x, x), { warmup: 1, warmupMs: 0, rounds: 3, iterations: 2 });
      expect(r).toMatchObject({ name: 'matmul', iterations: 2, rounds: 3 });
      expect(r.min).toBeGreaterThan(0);
      expect(r.min).toBeLessThanOrEqual(r.median);
      expect(r.median).toBeLessThanOrEqual(r.max);
    });
    x.dispose();
  });
});

describeBackends('kernelProfile', () => {
  it('groups one call by kernel, the biggest first, shares against the summed time, and leaks nothing', async () => {
    const a = philoxUniform([64, 64], { seed: 1 });
    const fn = () => tf.tidy(() => tf.add(tf.matMul(tf.matMul(a, a), a), tf.exp(a)));
    const before = tf.memory().numTensors;
    const rows = await kernelProfile('chain', '64x64', fn);
    expect(tf.memory().numTensors).toBe(before);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.workload.startsWith('chain: ')).toBe(true);
      expect(r.baselineName).toBe('chain (sum of kernel times)');
      expect(r.speedup).toBeGreaterThanOrEqual(1);
    }
    expect(rows.map((r) => r.ours.median)).toEqual([...rows.map((r) => r.ours.median)].sort((x, y) => y - x));
    // the two products are one group of two calls
    expect(rows.find((r) => r.workload.startsWith('chain: BatchMatMul'))?.ours.iterations ?? 2).toBe(2);
    a.dispose();
  });

  it('rejects a bad option, naming it', async () => {
    await expect(kernelProfile('x', 's', () => tf.zeros([1]), { top: 0 })).rejects.toThrow(/top/);
    await expect(kernelProfile('x', 's', () => tf.zeros([1]), { by: 'pass' as 'kernel' })).rejects.toThrow(
      /opts.by: expected 'kernel' or 'program', received "pass"/,
    );
  });
});

describe('compare and formatTable', () => {
  const result = (name: string, median: number) => ({ name, median, min: median, max: median, iterations: 1, rounds: 1 });
  it('reports baseline/ours as the speedup and GB/s from bytes', () => {
    const row = compare('softmax', '64x131072', 'tf.softmax', result('tf', 2), result('ours', 0.5), { bytes: 1e9 });
    expect(row.speedup).toBe(4);
    expect(gigabytesPerSecond(row)).toBeCloseTo(2000);
    const table = formatTable([row]);
    expect(table).toContain('| softmax | 64x131072 | 0.5000 | tf.softmax | 2.00 | 4.00× | 2000.0 |  |');
  });
  it('reports GFLOP/s from flops', () => {
    const row = compare('matmul', '512', 'tf.matMul', result('tf', 2), result('ours', 1), { flops: 3e9 });
    expect(gigaflopsPerSecond(row)).toBeCloseTo(3000);
    expect(formatTable([row])).toContain('| 2.00× |  | 3000.0 |');
  });
});

/** Doubles its input: the smallest program that shows `runProgram` wires inputs, output and uniforms. */
class ScaleProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_test_scale';
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'factor : f32,';
  size = true;
  constructor(n: number) {
    this.outputShape = [n];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(n / 64)));
  }
  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let i = i32(linearWorkgroupIndex()) * 64 + i32(localIndex);
    if (i < uniforms.size) { result[i] = uniforms.factor * x[i]; }
  }
`;
  }
}

describeBackends('runProgram', (backend) => {
  it('runs one WGSL program and returns its output as a tensor, on webgpu only', async () => {
    const x = tf.range(0, 100, 1, 'float32');
    if (backend === 'webgpu') {
      const y = runProgram(new ScaleProgram(100), [x], scalarUniforms('float32', [3]));
      await expectAllClose(y, tf.mul(x, 3));
      y.dispose();
    } else {
      expect(() => runProgram(new ScaleProgram(100), [x])).toThrow(BackendError);
      expect(() => runProgram(new ScaleProgram(100), [x])).toThrow(`runProgram: expected the webgpu backend, received '${backend}'`);
    }
    x.dispose();
  });
});
