import { expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { describeBackends, expectAllClose, expectNoLeaks } from '../src/testing/index.js';

interface DeviceHolder {
  device: GPUDevice;
  tensorMap: { get(id: object): { values?: unknown } | undefined };
}

/** Calls of `device.createBuffer` with `mappedAtCreation` while `fn` runs. */
async function mappedCreations(fn: () => Promise<void>): Promise<number> {
  const device = (tf.backend() as unknown as DeviceHolder).device;
  const original = device.createBuffer.bind(device);
  let count = 0;
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    if (desc.mappedAtCreation) count++;
    return original(desc);
  };
  try {
    await fn();
  } finally {
    device.createBuffer = original;
  }
  return count;
}

describeBackends(
  'host-valued tensors on WebGPU',
  () => {
    it('upload through the queue into pooled buffers, not through a new mapped buffer each', async () => {
      const x = tf.fill([4, 8], 3);
      const warm = tf.mul(x, 2);
      await warm.data();
      const count = await mappedCreations(async () => {
        const y = tf.mul(x, 2);
        const z = tf.add(y, tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8]));
        await z.data();
        tf.dispose([y, z]);
      });
      expect(count).toBe(0);
      tf.dispose([x, warm]);
    });

    it('keep float32, int32 and bool bits exactly', async () => {
      // above tfjs' 1000-element threshold under which small host tensors are computed on the CPU
      const n = 2048;
      const special = [1.5, -2.25, 3e-30, 4e30, 0, -0, Number.NaN, Number.POSITIVE_INFINITY];
      const fv = Float32Array.from({ length: n }, (_, j) => special[j % special.length] as number);
      const iv = Int32Array.from({ length: n }, (_, j) => (j % 2 === 0 ? 2147483647 - j : -2147483648 + j));
      const bv = Uint8Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 1 : 0));
      const f = tf.tensor1d(fv);
      const i = tf.tensor1d(iv, 'int32');
      const b = tf.tensor1d(bv, 'bool');
      // using each tensor uploads it and drops its host copy, so reading it back reads the device buffer
      const used = tf.tidy(() => [tf.neg(f), tf.reverse(i), tf.logicalNot(b)]);
      const store = tf.backend() as unknown as DeviceHolder;
      for (const t of [f, i, b]) expect(store.tensorMap.get(t.dataId)?.values ?? null).toBeNull();
      expect(Array.from(await f.data())).toEqual(Array.from(fv));
      expect(Array.from(await i.data())).toEqual(Array.from(iv));
      expect(Array.from(await b.data())).toEqual(Array.from(bv));
      tf.dispose([f, i, b, ...used]);
    });

    it('stay correct when buffers are recycled between commands of one submission', async () => {
      // each round frees the previous round's host tensor while its command is still unsubmitted
      const outs: tf.Tensor[] = [];
      const expected: number[] = [];
      const n = 2048;
      for (let r = 0; r < 20; r++) {
        const host = tf.tensor1d(Array.from({ length: n }, (_, j) => r * n + j));
        outs.push(tf.mul(host, 2));
        host.dispose();
        for (let j = 0; j < n; j++) expected.push(2 * (r * n + j));
      }
      await expectAllClose(tf.concat(outs), tf.tensor1d(expected), { atol: 0, rtol: 0 });
      tf.dispose(outs);
    });

    it('leak no tensors', async () => {
      await expectNoLeaks(() => tf.tidy(() => tf.mul(tf.tensor1d([1, 2, 3]), 2)));
    });
  },
  { backends: ['webgpu'] },
);
