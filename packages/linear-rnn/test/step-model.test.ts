import { join } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, tf, ValueError } from '@tessera/tensor-core';
import { describeBackends, expectAllClose } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { type Decodable, loadCausalLM, loadMambaLM, toStepModel } from '../src/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

describeBackends('toStepModel', () => {
  for (const [name, load] of [
    ['fla-transcribed/lm-delta_net', loadCausalLM],
    ['mamba-transcribed/lm-mamba3', loadMambaLM],
  ] as const) {
    it(`${name}: prefills the prompt, then steps one token, as forward computes; holds one state at a time`, async () => {
      const model = await load(join(FIXTURES, name));
      const prompt = [3, 1, 4, 1, 5];
      const seq = [...prompt, 9, 2];
      const full = model.forward(tf.tensor2d([seq], [1, seq.length], 'int32'));
      const before = tf.memory().numTensors;
      const adapter = toStepModel(model as Decodable<unknown>);
      let state: unknown;
      for (let n = prompt.length; n <= seq.length; n++) {
        const r = adapter.step(seq.slice(0, n), state as never);
        const want = tf.tidy(() => tf.reshape(tf.slice(full, [0, n - 1, 0], [1, 1, -1]), [1, -1]));
        await expectAllClose(r.logits, want, { atol: 1e-4, rtol: 1e-4 });
        tf.dispose([r.logits, want]);
        state = r.state;
      }
      adapter.release();
      expect(tf.memory().numTensors).toBe(before);
      expect(() => adapter.step([], undefined)).toThrow(new ValueError('ids: expected a non-empty array of token ids, received []'));
      tf.dispose(full as Tensor);
      model.dispose();
    });
  }

  it('rejects what is not a causal LM', () => {
    expect(() => toStepModel({} as never)).toThrow(/model: expected a causal LM with prefill\(\) and step\(\)/);
  });
});
