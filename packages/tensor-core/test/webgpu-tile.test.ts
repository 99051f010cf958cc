/**
 * tfjs' WebGPU Tile on a small host-resident input: tfjs would build the whole output on the CPU; tensor-core's
 * replacement (backend/webgpu-tile.ts) uploads the input once the output reaches the CPU hand-off threshold, so the
 * output is made on the GPU. Same values either way.
 */
import { expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { describeBackends } from '../src/testing/index.js';

interface Resident {
  tensorMap: { get(dataId: object): { resource: unknown } | undefined };
}

const onDevice = (t: tf.Tensor): boolean => (tf.backend() as unknown as Resident).tensorMap.get(t.dataId)?.resource != null;

describeBackends(
  'Tile of a host-resident tensor',
  () => {
    it('tiles on the GPU once the output reaches the hand-off threshold, with the same values', async () => {
      const threshold = tf.env().getNumber('WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD');
      const n = Math.ceil(threshold / 4) + 7;
      const before = tf.memory().numTensors;
      const q = tf.tensor2d([[1, 0, 0, 0.5]]);
      const big = tf.tile(q, [n, 1]);
      expect(onDevice(big)).toBe(true);
      const values = await big.data();
      expect(values.length).toBe(4 * n);
      for (let i = 0; i < n; i++) expect(Array.from(values.subarray(4 * i, 4 * i + 4))).toEqual([1, 0, 0, 0.5]);
      // broadcastTo runs the same kernel
      const c = tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 1, 3]);
      const wide = tf.broadcastTo(c, [2, n, 3]);
      expect(onDevice(wide)).toBe(true);
      const w = await wide.data();
      expect(Array.from(w.subarray(0, 3))).toEqual([1, 2, 3]);
      expect(Array.from(w.subarray(3 * (2 * n - 1)))).toEqual([4, 5, 6]);
      // a small output keeps tfjs' CPU path
      const p = tf.tensor1d([1, 2]);
      const small = tf.tile(p, [3]);
      expect(onDevice(small)).toBe(false);
      expect(Array.from(await small.data())).toEqual([1, 2, 1, 2, 1, 2]);
      tf.dispose([q, big, c, wide, p, small]);
      expect(tf.memory().numTensors).toBe(before);
    });
  },
  { backends: ['webgpu'] },
);
