import { expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { describeBackends, expectNoLeaks } from '../src/testing/index.js';

describeBackends('expectNoLeaks', () => {
  it('passes when fn frees what it made and returns its result to be freed', async () => {
    const x = tf.ones([3]);
    await expectNoLeaks(() => tf.tidy(() => tf.add(tf.mul(x, 2), 1)));
    x.dispose();
  });

  it('fails on a tensor left alive', async () => {
    let kept: tf.Tensor | undefined;
    await expect(
      expectNoLeaks(() => {
        kept = tf.ones([2]);
      }),
    ).rejects.toThrow(/tensors leaked \(before \d+, after \d+\)/);
    kept?.dispose();
  });

  // what a custom kernel's `run()` returns is backend data with no tensor: a missed dispose shows only there
  it('fails on backend data that no tensor owns', async () => {
    const backend = tf.backend();
    let id: object | undefined;
    await expect(
      expectNoLeaks(() => {
        id = backend.write(new Float32Array(4), [4], 'float32');
      }),
    ).rejects.toThrow(/backend data leaked \(before \d+, after \d+\)/);
    if (id !== undefined) backend.disposeData(id as never);
  });
});
