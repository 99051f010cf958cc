import { expect, it } from 'vitest';
import { deviceZeros, tf } from '../src/index.js';
import { describeBackends, expectAllClose, expectNoLeaks } from '../src/testing/index.js';

/** What tfjs' backends keep per tensor: host values until a GPU upload (WebGPU) drops them. */
interface TensorStore {
  tensorMap?: { get(id: object): { values?: unknown } | undefined };
}

describeBackends('deviceZeros', () => {
  it('is a zero tensor of the given shape and dtype', async () => {
    const f = deviceZeros([2, 3, 4]);
    const i = deviceZeros([5], 'int32');
    expect(f.shape).toEqual([2, 3, 4]);
    expect(f.dtype).toBe('float32');
    expect(i.dtype).toBe('int32');
    await expectAllClose(f, tf.zeros([2, 3, 4]));
    expect(Array.from(await i.data())).toEqual([0, 0, 0, 0, 0]);
    tf.dispose([f, i]);
  });

  it('frees everything it makes', async () => {
    await expectNoLeaks(() => deviceZeros([3, 3]));
  });
});

describeBackends(
  'deviceZeros on WebGPU',
  () => {
    it('is made on the device, with no host copy to upload', () => {
      const z = deviceZeros([8, 64, 64]);
      const store = tf.backend() as unknown as TensorStore;
      expect(store.tensorMap?.get(z.dataId)?.values ?? null).toBeNull();
      const host = tf.zeros([8, 64, 64]);
      expect(store.tensorMap?.get(host.dataId)?.values).toBeInstanceOf(Float32Array);
      tf.dispose([z, host]);
    });
  },
  { backends: ['webgpu'] },
);
