import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { bench, compare, formatTable, gigabytesPerSecond, gigaflopsPerSecond } from '../src/bench/index.js';
import { describeBackends, expectNoLeaks } from '../src/testing/index.js';

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
