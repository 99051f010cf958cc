/**
 * The WebGPU device's bind-group and uniform caches (backend/bind-group-cache.ts): a repeated program reuses its
 * bind group and its uniform buffer, programs that differ only in a uniform or an input still see their own, and
 * uniform buffers evicted from a full cache are not rewritten while a pass still binds them. The off switch
 * (TESSERA_WEBGPU_BIND_GROUP_CACHE=0) is read when the device is created, so it runs in a fresh Node process.
 */
import { afterAll, expect, it } from 'vitest';
import { runProgram, withBindGroupCache } from '../src/bench/index.js';
import { UNIFORM_CACHE_CAPACITY } from '../src/backend/bind-group-cache.js';
import { flatGrid, initBackend, tf, ValueError, type WebGPUProgram, webgpuBindGroupCache } from '../src/index.js';
import { describeBackends } from '../src/testing/index.js';
import { childNode } from './child-node.js';

const { run: runNode, remove } = childNode('bind-group-cache');
afterAll(remove);

const SIZE = 8;

/** y = a·x + b, a and b program uniforms: only the uniforms tell two runs apart. */
class AffineProgram implements WebGPUProgram {
  outputShape = [SIZE];
  shaderKey = 'tessera_test_affine';
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [SIZE, 1, 1];
  dispatchLayout = flatGrid([SIZE], SIZE).dispatchLayout;
  dispatch = flatGrid([SIZE], SIZE).dispatch;
  uniforms = 'a : f32, b : f32,';
  getUserCode(): string {
    return `
  fn main(index : i32) {
    let i = i32(localIndex);
    result[i] = uniforms.a * x[i] + uniforms.b;
  }`;
  }
}

const affine = (x: tf.Tensor, a: number, b: number): tf.Tensor =>
  runProgram(
    new AffineProgram(),
    [x],
    [
      { type: 'float32', data: [a] },
      { type: 'float32', data: [b] },
    ],
  );

describeBackends('the bind-group cache', (backend) => {
  it('answers a repeated program from the cache, and each run still reads its own uniforms and input', async () => {
    if (backend !== 'webgpu') return;
    const x = tf.range(0, SIZE);
    const x2 = tf.range(10, 10 + SIZE);
    const before = tf.memory().numTensors;
    const start = webgpuBindGroupCache();
    expect(start.enabled).toBe(true);
    const runs: [tf.Tensor, number, number][] = [
      [x, 2, 1],
      [x, 3, 1],
      [x, 2.75, 1],
      [x, 2, 1],
      [x2, 2, 1],
      [x, 2, -0],
      [x, 2, 0],
      [x, 2, 1],
    ];
    // rounds that dispose their outputs, as a loop of ops does: the pool hands the same buffers back
    let hitsAfterFirst = 0;
    for (let round = 0; round < 4; round++) {
      const outputs = runs.map(([input, a, b]) => affine(input, a, b));
      for (let r = 0; r < runs.length; r++) {
        const [input, a, b] = runs[r]!;
        const expected = Array.from(await input.data(), (v) => a * v + b);
        expect(Array.from(await outputs[r]!.data())).toEqual(expected);
      }
      tf.dispose(outputs);
      if (round === 0) hitsAfterFirst = webgpuBindGroupCache().hits;
    }
    const after = webgpuBindGroupCache();
    expect(after.misses).toBeGreaterThan(start.misses);
    expect(after.hits).toBeGreaterThan(hitsAfterFirst);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, x2]);
  });

  it('keeps results right past the uniform cache capacity, one submit holding evicted buffers', async () => {
    if (backend !== 'webgpu') return;
    const flags = tf.env();
    const batch = flags.getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE');
    // every program in one pass: an evicted uniform buffer must not be handed out again before this submit
    flags.set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 4 * UNIFORM_CACHE_CAPACITY);
    const x = tf.ones([SIZE]);
    try {
      const count = UNIFORM_CACHE_CAPACITY + 200;
      const outputs: tf.Tensor[] = [];
      for (let i = 0; i < count; i++) outputs.push(affine(x, 1, i));
      const sums = await tf.concat(outputs.map((y) => tf.slice(y, [0], [1]))).data();
      expect(Array.from(sums)).toEqual(Array.from({ length: count }, (_, i) => 1 + i));
      tf.dispose(outputs);
    } finally {
      flags.set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', batch);
      x.dispose();
    }
  });

  it('can be switched off for one call (the bench compares both ways) with the same results', async () => {
    if (backend !== 'webgpu') return;
    const x = tf.range(0, SIZE);
    const missesBefore = webgpuBindGroupCache().misses;
    const hitsBefore = webgpuBindGroupCache().hits;
    const off = withBindGroupCache(false, () => [affine(x, 5, 2), affine(x, 5, 2)]);
    expect(webgpuBindGroupCache().hits).toBe(hitsBefore);
    expect(webgpuBindGroupCache().misses).toBe(missesBefore);
    expect(webgpuBindGroupCache().enabled).toBe(true);
    const expected = Array.from(await x.data(), (v) => 5 * v + 2);
    for (const y of off) expect(Array.from(await y.data())).toEqual(expected);
    tf.dispose([...off, x]);
  });

  it('is off in a process started with TESSERA_WEBGPU_BIND_GROUP_CACHE=0', async () => {
    if (backend !== 'webgpu') return;
    const r = await runNode(
      `
      import { initBackend, softmax, tf, webgpuBindGroupCache } from './core.mjs';
      await initBackend('webgpu');
      const x = tf.range(0, 64).reshape([2, 32]);
      for (let i = 0; i < 3; i++) await softmax(x).data();
      console.log(JSON.stringify(webgpuBindGroupCache()));
    `,
      { TESSERA_WEBGPU_BIND_GROUP_CACHE: '0' },
    );
    expect(r.code, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout) as { enabled: boolean; hits: number; misses: number };
    expect(stats).toMatchObject({ enabled: false, hits: 0, misses: 0 });
  });
});

it('rejects a malformed TESSERA_WEBGPU_BIND_GROUP_CACHE before starting anything', async () => {
  const saved = process.env.TESSERA_WEBGPU_BIND_GROUP_CACHE;
  process.env.TESSERA_WEBGPU_BIND_GROUP_CACHE = 'yes';
  try {
    await expect(initBackend('webgpu')).rejects.toThrow(ValueError);
    await expect(initBackend('auto')).rejects.toThrow('TESSERA_WEBGPU_BIND_GROUP_CACHE: expected 0 or 1, received "yes"');
  } finally {
    if (saved === undefined) delete process.env.TESSERA_WEBGPU_BIND_GROUP_CACHE;
    else process.env.TESSERA_WEBGPU_BIND_GROUP_CACHE = saved;
  }
});
